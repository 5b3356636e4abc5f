// The few parts of `ws` (client-node's WebSocket library, which ships no types) used here.
declare module 'ws' {
  export default class WebSocket {
    constructor(address: string, protocols: string[], options: Record<string, unknown>);
  }
}
