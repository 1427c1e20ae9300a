// Entry of the host runtime bundle: one React instance, shared by the Player and every scene,
// published as the globals compiled scene modules read.
import React from 'react';
import ReactDOMBase from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as LucideIcons from 'lucide-react';
import * as HeroiconsSolid from '@heroicons/react/24/solid';
import * as HeroiconsOutline from '@heroicons/react/24/outline';
import * as Remotion from './remotion/index.js';
import * as RemotionShapes from './shapes.jsx';
import { Player } from './player.jsx';
import { IconifyIcon } from './iconify.jsx';
import { RemotionGoogleFonts } from './fonts.js';
import { ArtifactProxyPreview } from './preview.jsx';

const globals = {
  React,
  ReactDOM: { ...ReactDOMBase, createRoot: ReactDOMClient.createRoot, hydrateRoot: ReactDOMClient.hydrateRoot },
  Remotion,
  RemotionPlayer: { Player },
  RemotionShapes,
  IconifyIcon,
  RemotionGoogleFonts,
  LucideIcons,
  HeroiconsSolid,
  HeroiconsOutline,
  ArtifactProxyPreview,
};

// Overwritten, never merged with what a page set before: a scene and the Player must share
// one React, and only this bundle can guarantee that for its own Player.
Object.assign(globalThis, globals);
