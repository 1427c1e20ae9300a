// IconifyIcon: `<Icon icon="prefix:name" />` rendered offline. Lucide and Heroicons names map
// to the bundled icon sets; anything else becomes a labelled placeholder badge. Never fetches.
import React, { forwardRef } from 'react';
import * as LucideIcons from 'lucide-react';
import * as HeroiconsSolid from '@heroicons/react/24/solid';
import * as HeroiconsOutline from '@heroicons/react/24/outline';

const STYLE_SUFFIXES = /-(outline|outlined|rounded|round|sharp|solid|fill|filled|bold|light|thin|duotone|line|regular|\d+(-solid)?)$/;

const pascal = (kebab) => kebab.split(/[-_]/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');

function resolve(icon) {
  const [prefix, rawName] = icon.includes(':') ? icon.split(':', 2) : ['', icon];
  const name = rawName.toLowerCase();
  if (prefix.startsWith('heroicons')) {
    const outline = prefix.includes('outline') || name.endsWith('-outline') || (!prefix.includes('solid') && !name.includes('solid'));
    const set = outline ? HeroiconsOutline : HeroiconsSolid;
    const found = set[`${pascal(name.replace(STYLE_SUFFIXES, ''))}Icon`];
    if (found) return found;
  }
  const candidates = [name, name.replace(STYLE_SUFFIXES, '')];
  for (const candidate of candidates) {
    const found = LucideIcons.icons[pascal(candidate)];
    if (found) return found;
  }
  return null;
}

function sizeOf(v) {
  if (v === undefined || v === null || v === 'auto') return '1em';
  return v;
}

function Badge({ label, width, height, color, style, className, ...rest }) {
  const letter = (label.split(':').pop() || '?')[0].toUpperCase();
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      viewBox="0 0 24 24"
      width={width}
      height={height}
      role="img"
      aria-label={label}
      data-icon={label}
      className={className}
      style={{ color, verticalAlign: '-0.125em', ...style }}
      {...rest}
    >
      <title>{label}</title>
      <rect x="2" y="2" width="20" height="20" rx="5" fill="none" stroke="currentColor" strokeWidth="2" />
      <text x="12" y="16.5" textAnchor="middle" fontSize="12" fontFamily="system-ui, sans-serif" fontWeight="700" fill="currentColor">
        {letter}
      </text>
    </svg>
  );
}

export const Icon = forwardRef(function Icon({ icon, width, height, color, style, className, inline, rotate, flip, mode, ...rest }, ref) {
  const w = sizeOf(width ?? height);
  const h = sizeOf(height ?? width);
  // Iconify data objects ({body, width, height}) come from the scene itself, like any of its code.
  if (icon && typeof icon === 'object' && typeof icon.body === 'string') {
    return (
      <svg
        ref={ref}
        xmlns="http://www.w3.org/2000/svg"
        viewBox={`${icon.left ?? 0} ${icon.top ?? 0} ${icon.width ?? 16} ${icon.height ?? 16}`}
        width={w}
        height={h}
        className={className}
        style={{ color, ...style }}
        dangerouslySetInnerHTML={{ __html: icon.body }}
        {...rest}
      />
    );
  }
  const label = typeof icon === 'string' ? icon : 'icon';
  const Found = typeof icon === 'string' ? resolve(icon) : null;
  if (Found) {
    return (
      <Found ref={ref} width={w} height={h} color={color} aria-label={label} data-icon={label} role="img"
        className={className} style={{ color, ...style }} {...rest} />
    );
  }
  return <Badge label={label} width={w} height={h} color={color} style={style} className={className} {...rest} />;
});

// The module object of @iconify/react: the component doubles as its namespace.
export const IconifyIcon = Object.assign(Icon, { Icon, InlineIcon: Icon, default: Icon });
