// A host app that bundles its own React, ReactDOM, Remotion and Remotion Player (the real npm
// packages) and publishes them with the client's installHostGlobals, as the product would.
// Built per React version by test/host/build.mjs for the browser tests.
import React from 'react';
import ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as Remotion from 'remotion';
import { Player } from '@remotion/player';
import { installHostGlobals } from '../../src/index.js';

installHostGlobals({
  React,
  ReactDOM: { ...ReactDOM, createRoot: ReactDOMClient.createRoot, hydrateRoot: ReactDOMClient.hydrateRoot },
  Remotion,
  RemotionPlayer: { Player },
});
