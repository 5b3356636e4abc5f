import { DirectoryFolder, FileLocation } from './file.js';
import type { ArchiveBlob, ArchiveFolder, ArchiveLocation, ArchiveRef } from './location.js';
import { isS3Url, S3Folder, S3Location, type S3Settings } from './s3-url.js';

/**
 * Turns what the user wrote into a location: `s3://BUCKET/KEY` an object, anything else a local
 * path. Nothing is contacted and no SDK is loaded here: that happens on create() / open().
 */
export function resolveLocation(text: string, s3: S3Settings): ArchiveLocation {
  return isS3Url(text) ? S3Location.parse(text, s3) : new FileLocation(text);
}

/** A folder of archives: `s3://BUCKET/PREFIX/` (or the whole bucket) or a local directory. */
export function resolveFolder(text: string, s3: S3Settings): ArchiveFolder {
  return isS3Url(text) ? S3Folder.parse(text, s3) : new DirectoryFolder(text);
}

export function openLocation(ref: ArchiveRef): Promise<ArchiveBlob> {
  return (typeof ref === 'string' ? new FileLocation(ref) : ref).open();
}

export function refName(ref: ArchiveRef): string {
  return typeof ref === 'string' ? ref : ref.name;
}
