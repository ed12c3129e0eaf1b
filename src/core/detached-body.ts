/**
 * The body of a Response, for a new Response that replaces it. undici (Node's fetch) cancels a
 * fetch response's body stream when that Response is garbage-collected, unless the stream is
 * locked; a new Response over the same stream does not lock it, so a collection before the body
 * was read left the replacement empty ("Body has already been read"). Piping locks the stream at
 * once. Edge runtimes have no such finalizer; the pipe costs them one stream hop.
 */
export function detachedBody(response: Response): ReadableStream<Uint8Array> | null {
  const body = response.body as ReadableStream<Uint8Array> | null;
  return body === null ? null : body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>());
}
