// Compiled by `tsc --noEmit` (test/types.test.js): how a TypeScript view uses the client. Lines
// marked @ts-expect-error must stay errors, so the declarations cannot quietly become `any`.
import {
  createSceneClient, installHostGlobals, SceneBoundary, SceneLoadError, ServerScene, useProject, useSceneComponent,
  type Project, type SceneClient, type SceneModule,
} from '@artifact-proxy/scene-client';
import type { ComponentType, ReactElement } from 'react';

const client: SceneClient = createSceneClient({ baseUrl: 'https://components.example.com', retries: 2, timeoutMs: 5000 });
const scene: Promise<SceneModule> = client.loadScene('id', { version: 'a1b2c3d4e5f60718' });
const project: Promise<Project> = client.loadProject('p');
client.preloadScene('id');
client.preloadProject('p', { version: 3 });
const enabled: Promise<boolean> = client.isEnabled('server-scenes', 'user-1');
const changed: string[] = installHostGlobals({ React: {}, Remotion: {} });

async function errors(): Promise<number | undefined> {
  const m = await scene;
  const line: number | null | undefined = m.compilationError?.line;
  try {
    await client.loadScene('x');
  } catch (e) {
    if (e instanceof SceneLoadError && !e.retryable) return e.status;
  }
  return line ?? undefined;
}

function View(): ReactElement {
  const Component: ComponentType<any> = useSceneComponent(client, 'id', 'v1');
  const { order, scenes, components } = useProject(client, 'p', null);
  const total: number = order.reduce((sum, id) => sum + (scenes[id].durationInFrames ?? 30), 0);
  const first: ComponentType<any> | undefined = components[order[0]];
  void Component; void total; void first;
  return SceneBoundary({ fallback: null, errorFallback: ({ error, retry }) => { void error; retry(); return null; },
    onError: (error) => { void error; }, resetKeys: ['id', 1], children: ServerScene({ client, sceneId: 'id', version: 'v1' }) });
}

// @ts-expect-error baseUrl is required
createSceneClient({});
// @ts-expect-error a version is a string or number
client.loadScene('id', { version: {} });
// @ts-expect-error isEnabled resolves to a boolean
const wrong: Promise<string> = client.isEnabled('f', 'u');

void project; void enabled; void changed; void errors; void View; void wrong;
