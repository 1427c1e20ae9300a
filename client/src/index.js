// @artifact-proxy/scene-client: load server-compiled scenes and projects into React views.
export { SceneLoadError } from './core.js';
export { createSceneClient, installHostGlobals, projectFromModule } from './client.js';
export {
  SceneBoundary, SceneError, SceneLoading, ServerScene, useProject, useSceneComponent, useSceneModule,
} from './react.js';
