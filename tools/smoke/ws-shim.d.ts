// @kubernetes/client-node's declaration files name types of 'ws' without depending on @types/ws, so
// any consumer that checks library types (skipLibCheck off) fails on them. That is client-node's gap,
// not ours; this stand-in keeps it from hiding errors in our own declaration files.
declare module 'ws' {
  // biome-ignore lint/suspicious/noExplicitAny: an opaque stand-in for types we do not check
  type Opaque = any;
  const WebSocket: Opaque;
  type WebSocket = Opaque;
  type ClientOptions = Opaque;
  type Data = Opaque;

  export { type ClientOptions, type Data, WebSocket };
  // biome-ignore lint/style/noDefaultExport: the module has a default export
  export default WebSocket;
}
