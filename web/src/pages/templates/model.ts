// Template shapes as the API has them (docs/templates.md, src/Chuda.Server/Api/DeliveryApi.cs).

export interface TemplateView {
  id: string;
  latestVersion: number;
  approvedVersion: number | null;
  createdAt: string;
  updatedAt: string;
  definition: TemplateDefinition | null;
}

export interface TemplateVersionView {
  version: number;
  createdAt: string;
  createdBy: string | null;
  approvedAt: string | null;
  approvedBy: string | null;
  definition: TemplateDefinition;
}

export type ChannelContent = Record<string, unknown>;

export interface TemplateDefinition {
  name: string;
  category?: string;
  defaultLocale: string;
  locales: Record<string, Record<string, ChannelContent>>;
  required?: string[];
  [other: string]: unknown;
}

export interface PreviewProblem {
  field: string;
  variable: string | null;
  message: string;
  severity: string;
}

export interface PreviewChannel {
  channel: string;
  locale: string | null;
  content: Record<string, unknown> | null;
  problems: PreviewProblem[];
  ok: boolean;
  smsEncoding: string | null;
  smsSegments: number | null;
  smsLength: number | null;
}

export interface TemplatePreview {
  templateId: string;
  channels: PreviewChannel[];
}

/** Every template channel, in the order the editor shows them. */
export const CHANNELS = ["email", "sms", "push", "in_app", "wechat", "webhook", "voice"] as const;
export type Channel = (typeof CHANNELS)[number];

export type FieldKind = "line" | "text" | "html" | "json" | "map" | "number";

export interface FieldSpec {
  /** Dotted path inside the channel's content: "subject", "action.url", "miniprogram.appid". */
  path: string;
  kind: FieldKind;
  required?: boolean;
  /** Literal (not Handlebars). */
  literal?: boolean;
}

/** The fields of each channel (docs/templates.md "Channels"; voice from docs/channels.md "Voice"). */
export const CHANNEL_FIELDS: Record<Channel, FieldSpec[]> = {
  email: [
    { path: "subject", kind: "line", required: true },
    { path: "from", kind: "line" },
    { path: "replyTo", kind: "line" },
    { path: "html", kind: "html" },
    { path: "text", kind: "text" },
  ],
  sms: [{ path: "text", kind: "text", required: true }],
  push: [
    { path: "title", kind: "line" },
    { path: "body", kind: "text" },
    { path: "deepLink", kind: "line" },
    { path: "image", kind: "line" },
    { path: "data", kind: "map" },
  ],
  in_app: [
    { path: "title", kind: "line" },
    { path: "body", kind: "text" },
    { path: "action.label", kind: "line" },
    { path: "action.url", kind: "line" },
  ],
  wechat: [
    { path: "templateId", kind: "line", required: true, literal: true },
    { path: "url", kind: "line" },
    { path: "miniprogram.appid", kind: "line", literal: true },
    { path: "miniprogram.pagepath", kind: "line" },
    { path: "data", kind: "map", required: true },
  ],
  webhook: [{ path: "body", kind: "json", required: true }],
  voice: [
    { path: "text", kind: "text", required: true },
    { path: "language", kind: "line", literal: true },
    { path: "repeat", kind: "number", literal: true },
  ],
};

/** A new channel's starting content (the fields it needs, empty). */
export function emptyContent(channel: Channel): ChannelContent {
  switch (channel) {
    case "email":
      return { subject: "", html: "" };
    case "sms":
      return { text: "" };
    case "push":
      return { title: "", body: "" };
    case "in_app":
      return { title: "", body: "" };
    case "wechat":
      return { templateId: "", data: { first: "" } };
    case "webhook":
      return { body: '{"user": "{{profile.user_id}}"}' };
    case "voice":
      return { text: "" };
  }
}

export function getPath(obj: unknown, path: string): unknown {
  let cur = obj as Record<string, unknown> | undefined;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[part] as Record<string, unknown> | undefined;
  }
  return cur;
}

/** A copy of obj with path set; an empty value removes the key (and an emptied parent object). */
export function setPath(obj: ChannelContent, path: string, value: unknown): ChannelContent {
  const [head, ...rest] = path.split(".");
  const copy: ChannelContent = { ...obj };
  if (rest.length === 0) {
    if (value === "" || value === undefined || value === null) delete copy[head];
    else copy[head] = value;
    return copy;
  }
  const child = setPath((copy[head] as ChannelContent) ?? {}, rest.join("."), value);
  if (Object.keys(child).length === 0) delete copy[head];
  else copy[head] = child;
  return copy;
}

/**
 * A JSON path from a validation error ("$.locales['zh-Hans'].sms.text", "$.locales.en.push.data.k") as parts:
 * ["locales", "zh-Hans", "sms", "text"].
 */
export function pathParts(path: string): string[] {
  const parts: string[] = [];
  const re = /\.([A-Za-z0-9_$-]+)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]/g;
  const s = path.startsWith("$") ? path.slice(1) : "." + path;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) parts.push(m[1] ?? m[2] ?? m[3]);
  return parts;
}

export function channelsOf(def: TemplateDefinition | null | undefined): string[] {
  if (!def?.locales) return [];
  const set = new Set<string>();
  for (const loc of Object.values(def.locales)) for (const ch of Object.keys(loc ?? {})) set.add(ch);
  const known: string[] = CHANNELS.filter((c) => set.has(c));
  return known.concat([...set].filter((c) => !(CHANNELS as readonly string[]).includes(c)));
}

/** Canonical-looking locale tag check (the server has the final word). */
export const LOCALE_RE = /^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?$/;
