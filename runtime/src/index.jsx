// Entry of the host runtime bundle: one React instance, shared by the Player and every scene,
// published as the globals compiled scene modules read, plus the /preview shell.
import { globals } from './globals.js';
import { ArtifactProxyPreview } from './preview.jsx';

// Overwritten, never merged with what a page set before: a scene and the Player must share
// one React, and only this bundle can guarantee that for its own Player.
Object.assign(globalThis, globals, { ArtifactProxyPreview });

// Remotion starts with `remotion_renderReady = false` and sets it true only when a delayRender()
// handle is continued; no handle is open yet, so say so (the preview waits on it).
globalThis.remotion_renderReady = true;
