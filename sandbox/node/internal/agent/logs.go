package agent

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// serveLogs returns a container's captured output (stdout and stderr of its
// process, interleaved). Supports follow, previous, tailLines and limitBytes.
func (a *Agent) serveLogs(w http.ResponseWriter, req *http.Request) {
	ns, podName, container := req.PathValue("ns"), req.PathValue("pod"), req.PathValue("container")
	pod, err := a.findPod(req.Context(), ns, podName, "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if findContainer(pod, container) == nil {
		http.Error(w, "container "+container+" is not valid for pod "+podName, http.StatusNotFound)
		return
	}
	q := req.URL.Query()
	follow := q.Get("follow") == "true"
	name := container + ".log"
	if q.Get("previous") == "true" {
		name = container + ".previous.log"
		follow = false
	}
	path := filepath.Join(a.podDir(pod.UID), logDirName, name)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n >= 0 {
		if off, err := tailOffset(f, n); err == nil {
			_, _ = f.Seek(off, io.SeekStart)
		}
	}
	limit := int64(-1)
	if n, err := strconv.ParseInt(q.Get("limitBytes"), 10, 64); err == nil && n > 0 {
		limit = n
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if limit >= 0 && int64(len(chunk)) > limit {
				chunk = chunk[:limit]
			}
			if _, werr := w.Write(chunk); werr != nil {
				return
			}
			if limit >= 0 {
				limit -= int64(len(chunk))
				if limit == 0 {
					return
				}
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err == io.EOF {
			if !follow {
				return
			}
			// Stop following when the pod is gone or the file was rotated.
			if rt := a.runtimeFor(pod.UID); rt == nil {
				return
			}
			if st, err := os.Stat(path); err != nil || !sameFile(f, st) {
				return
			}
			select {
			case <-req.Context().Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return
		}
	}
}

func sameFile(f *os.File, st os.FileInfo) bool {
	fst, err := f.Stat()
	return err == nil && os.SameFile(fst, st)
}

// tailOffset finds where the last n lines of f start.
func tailOffset(f *os.File, n int) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if n == 0 {
		return size, nil
	}
	const block = 32 << 10
	pos := size
	lines := 0
	buf := make([]byte, block)
	for pos > 0 {
		readSize := int64(block)
		if pos < readSize {
			readSize = pos
		}
		pos -= readSize
		if _, err := f.ReadAt(buf[:readSize], pos); err != nil && err != io.EOF {
			return 0, err
		}
		chunk := buf[:readSize]
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' {
				continue
			}
			if pos+int64(i) == size-1 { // the final newline ends the last line
				continue
			}
			lines++
			if lines == n {
				return pos + int64(i) + 1, nil
			}
		}
	}
	return 0, nil
}
