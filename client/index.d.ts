// Type declarations of @artifact-proxy/scene-client (the sources are plain ES modules in src/).
// React types are taken from the host app's own `@types/react` / React 19 when it has them.
import type { ComponentType, ErrorInfo, ReactElement, ReactNode } from 'react';

/** A scene or project that could not be loaded. */
export declare class SceneLoadError extends Error {
  readonly name: 'SceneLoadError';
  /** The HTTP status when it was learned (404 unknown id, 400 malformed id, 503 ...), else 0. */
  readonly status: number;
  /** 'not_found' | 'timeout' | 'bad_module' | 'load_failed' */
  readonly code: string;
  readonly sceneId: string | null;
  readonly url: string | null;
  /** false when a retry cannot change the answer (400, 404, 410). */
  readonly retryable: boolean;
  /** Set by the React bindings: forget the failure so the next render imports again (fresh URL). */
  retry?: () => void;
}

export interface CompilationError {
  message: string;
  line: number | null;
  column: number | null;
}

/** A compiled scene module: `default` is the component. */
export interface SceneModule {
  default: ComponentType<any>;
  /** Present on the module the server sends for a scene that never compiled. */
  compilationError?: CompilationError;
  durationInFrames?: number;
  [name: string]: unknown;
}

export interface SceneInfo {
  /** The scene's name, when the server sends it. */
  name: string | null;
  /** The scene's length in frames (the table's `duration`, else the scene's own export), or null. */
  durationInFrames: number | null;
}

export interface Project {
  /** sceneId -> component */
  components: Readonly<Record<string, ComponentType<any>>>;
  /** sceneId -> that scene's module */
  modules: Readonly<Record<string, SceneModule>>;
  /** scene ids in the project's order */
  order: readonly string[];
  scenes: Readonly<Record<string, SceneInfo>>;
}

export interface LoadOptions {
  /** Anything that changes when the scene changes (compiledHash, updatedAt): a new value imports again. */
  version?: string | number | null;
}

export interface SceneClientOptions {
  /** Where the proxy (or its CDN) answers, e.g. "https://components.example.com"; '' for this origin. */
  baseUrl: string;
  /** Extra attempts after a failed import (default 3). */
  retries?: number;
  /** Per attempt (default 15000). */
  timeoutMs?: number;
}

export interface SceneClient {
  readonly baseUrl: string;
  loadScene(sceneId: string, options?: LoadOptions): Promise<SceneModule>;
  loadProject(projectId: string, options?: LoadOptions): Promise<Project>;
  preloadScene(sceneId: string, options?: LoadOptions): void;
  preloadProject(projectId: string, options?: LoadOptions): void;
  /** false when the flag is off, or when the flag service cannot be asked. */
  isEnabled(flag: string, userId?: string | null): Promise<boolean>;
  /** Where a runtime error happened in the scene's TSX (through the proxy's source maps); null when unknown. */
  locateError(error: unknown, options?: { sceneId?: string | null; projectId?: string | null }): Promise<OriginalPosition | null>;
}

export declare function createSceneClient(options: SceneClientOptions): SceneClient;

export interface HostGlobals {
  React?: unknown;
  ReactDOM?: unknown;
  Remotion?: unknown;
  RemotionPlayer?: unknown;
  [name: string]: unknown;
}

/** Sets the globals compiled scenes read; returns the names it changed. */
export declare function installHostGlobals(globals: HostGlobals): string[];

export declare function projectFromModule(mod: Record<string, unknown>): Project;

export declare function useSceneModule(client: SceneClient, sceneId: string, version?: LoadOptions['version']): SceneModule;
export declare function useSceneComponent(
  client: SceneClient, sceneId: string, version?: LoadOptions['version']): ComponentType<any>;
export declare function useProject(client: SceneClient, projectId: string, version?: LoadOptions['version']): Project;

export interface ErrorFallbackProps {
  error: Error;
  retry: () => void;
}

export interface SceneBoundaryProps {
  children?: ReactNode;
  /** Shown while loading; default: "Compiling scene…" with an animated bar. */
  fallback?: ReactNode;
  /** Shown on failure; default: a panel naming the scene, the message, and Retry. */
  errorFallback?: ReactNode | ((props: ErrorFallbackProps) => ReactNode);
  onError?: (error: Error, info: ErrorInfo) => void;
  /** When any of these changes, a shown error is cleared and the children render again. */
  resetKeys?: readonly unknown[];
  /** How the default error panel names the scene. */
  label?: string;
  /** With these, the default panel shows a runtime error at its TSX line (`Scene.tsx:12:7: message`). */
  client?: SceneClient;
  sceneId?: string | null;
  projectId?: string | null;
}

export declare function SceneBoundary(props: SceneBoundaryProps): ReactElement;
export declare function SceneLoading(props: { label?: string }): ReactElement;
export interface OriginalPosition {
  hash: string;
  source: string | null;
  line: number | null;
  column: number | null;
  name: string | null;
  sceneId: string | null;
}
export declare function SceneError(props: {
  error: Error; retry?: () => void; label?: string; client?: SceneClient; sceneId?: string | null; projectId?: string | null;
}): ReactElement;

export interface ServerSceneProps extends Omit<SceneBoundaryProps, 'children' | 'resetKeys'> {
  client: SceneClient;
  sceneId: string;
  version?: LoadOptions['version'];
  /** Any other prop goes to the Remotion Player (durationInFrames, fps, inputProps, controls, style ...). */
  [playerProp: string]: unknown;
}

export declare function ServerScene(props: ServerSceneProps): ReactElement;
