// Runtime errors back to the scene's TSX. A browser reports where a scene threw in the *compiled*
// module (`…/components/<hash>.js:48:60`); the proxy's original-position routes map that through the
// artifact's source map to the TSX line, so the panel reads `Scene.tsx:12:7: message`.
// Everything here is best effort: no frame of a scene, no endpoint, no map -> null, and the caller
// shows the message as it was.

const FRAME_RE = /((?:https?):\/\/[^\s()]+?):(\d+):(\d+)\)?$/;
const ARTIFACT_RE = /\/components\/([0-9a-f]{16})\.js$/;
const SCENE_RE = /\/api\/components\/([^/]+)$/;
const PROJECT_RE = /\/api\/projects\/([^/]+)\/components$/;

/** The first stack frame in a scene or project module: {hash, sceneId, projectId, line, column}, or null. */
export function sceneFrame(stack) {
  if (typeof stack !== 'string') return null;
  for (const text of stack.split('\n')) {
    const m = FRAME_RE.exec(text.trim());
    if (!m) continue;
    let path;
    try {
      path = new URL(m[1]).pathname;
    } catch {
      continue;
    }
    const hash = ARTIFACT_RE.exec(path);
    const scene = SCENE_RE.exec(path);
    const project = PROJECT_RE.exec(path);
    if (!hash && !scene && !project) continue;
    return {
      hash: hash ? hash[1] : null,
      sceneId: scene ? decodeURIComponent(scene[1]) : null,
      projectId: project ? decodeURIComponent(project[1]) : null,
      line: Number(m[2]),
      column: Number(m[3]),
    };
  }
  return null;
}

/**
 * `{source, line, column, name, sceneId}` in the TSX for `error`'s first scene frame, or null.
 * `base`: the proxy's API origin ('' = this origin); `sceneId` / `projectId`: what was imported, for
 * frames that name only the artifact's hash.
 */
export async function locateError(error, { base = '', sceneId = null, projectId = null, fetchImpl = globalThis.fetch } = {}) {
  const frame = sceneFrame(error && error.stack);
  if (!frame || typeof fetchImpl !== 'function') return null;
  const project = frame.projectId || (frame.sceneId ? null : projectId);
  const scene = frame.sceneId || sceneId;
  const path = project ? `/api/projects/${encodeURIComponent(project)}` : scene ? `/api/components/${encodeURIComponent(scene)}` : null;
  if (!path) return null;
  const query = `line=${frame.line}&column=${frame.column}${frame.hash ? `&hash=${frame.hash}` : ''}`;
  try {
    const res = await fetchImpl(`${base}${path}/original-position?${query}`, { credentials: 'omit' });
    if (!res.ok) return null;
    const at = await res.json();
    return at && typeof at.line === 'number' ? at : null;
  } catch {
    return null;
  }
}

/** `Scene.tsx:12:7: message` */
export function describeAt(at, message) {
  return at ? `Scene.tsx:${at.line}:${at.column}: ${message}` : message;
}
