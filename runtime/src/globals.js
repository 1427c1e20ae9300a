// The globals compiled scenes read (../shared/CONTRACT.md), bound to the real npm packages at the
// versions package.json pins. Nothing here implements what a package does; it only decides which
// module each global is. runtime/build.mjs writes each global's export names from this object.
import React from 'react';
import * as ReactDOMBase from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as Remotion from 'remotion';
import * as RemotionPlayer from '@remotion/player';
import * as RemotionShapes from '@remotion/shapes';
import * as RemotionPaths from '@remotion/paths';
import * as TransitionsBase from '@remotion/transitions';
import * as TransitionFade from '@remotion/transitions/fade';
import * as TransitionSlide from '@remotion/transitions/slide';
import * as TransitionWipe from '@remotion/transitions/wipe';
import * as TransitionFlip from '@remotion/transitions/flip';
import * as TransitionClockWipe from '@remotion/transitions/clock-wipe';
import * as TransitionIris from '@remotion/transitions/iris';
import * as TransitionNone from '@remotion/transitions/none';
import * as LucideIcons from 'lucide-react';
import * as HeroiconsSolid from '@heroicons/react/24/solid';
import * as HeroiconsOutline from '@heroicons/react/24/outline';
import * as Iconify from '@iconify/react';
import { RemotionGoogleFonts } from './fonts.js';

// @remotion/transitions and its presentation subpaths (`@remotion/transitions/fade`, ...) share
// one global: their export names do not overlap.
const RemotionTransitions = {
  ...TransitionsBase, ...TransitionFade, ...TransitionSlide, ...TransitionWipe, ...TransitionFlip,
  ...TransitionClockWipe, ...TransitionIris, ...TransitionNone,
};

// Scenes render `<IconifyIcon icon="mdi:home" />` from the global itself, and the module format
// gives `import { Icon } from '@iconify/react'` the same component; the package's other exports
// (addCollection, loadIcons, ...) hang off it.
const IconifyIcon = Object.assign(Iconify.Icon, Iconify);

export const globals = {
  React,
  ReactDOM: { ...ReactDOMBase, createRoot: ReactDOMClient.createRoot, hydrateRoot: ReactDOMClient.hydrateRoot },
  Remotion,
  RemotionPlayer,
  RemotionShapes,
  RemotionPaths,
  RemotionTransitions,
  RemotionGoogleFonts,
  IconifyIcon,
  LucideIcons,
  HeroiconsSolid,
  HeroiconsOutline,
};
