// Delivery shapes as the API has them (src/Chuda.Server/Api/DeliveryApi.cs, docs/delivery.md, docs/channels.md).

export const ALL_CHANNELS = ["push", "in_app", "email", "sms", "wechat", "webhook", "voice"] as const;

export interface ProviderHealth {
  id: string;
  channel: string;
  kind: string;
  enabled: boolean;
  circuit: string;
  attempts: number;
  accepted: number;
  delivered: number;
  transientFailures: number;
  permanentFailures: number;
  providerDown: number;
  skipped: number;
  timesOpened: number;
  inFlight: number;
  averageLatencyMs: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastOpenedAt: string | null;
  openUntil: string | null;
  ratePerSecond: number | null;
  maxConcurrency: number | null;
  busy: number | null;
}

export interface ProviderView {
  id: string;
  channel: string;
  kind: string;
  priority: number;
  enabled: boolean;
  ratePerSecond: number | null;
  maxConcurrency: number | null;
  config: Record<string, unknown>;
  updatedAt: string;
  callbackUrl: string;
  health: ProviderHealth | null;
}

export type ConfigFieldType = "string" | "text" | "number" | "bool" | "enum" | "secret" | "secretText" | "json" | "list" | "multi";

export interface ConfigField {
  key: string;
  type: ConfigFieldType;
  required?: boolean;
  options?: string[];
  placeholder?: string;
  /** Default as documented (shown as the placeholder). */
  def?: string;
}

export interface KindSpec {
  kind: string;
  channels: string[];
  fields: ConfigField[];
}

const timeout = (def: string): ConfigField => ({ key: "timeoutSeconds", type: "number", def });

/** Each provider kind's configuration keys (docs/channels.md and docs/delivery.md tables). */
export const KINDS: KindSpec[] = [
  {
    kind: "smtp",
    channels: ["email"],
    fields: [
      { key: "host", type: "string", required: true, placeholder: "smtp.example.com" },
      { key: "port", type: "number", def: "587" },
      { key: "startTls", type: "enum", options: ["required", "opportunistic", "none"] },
      { key: "implicitTls", type: "bool" },
      { key: "username", type: "string" },
      { key: "password", type: "secret" },
      { key: "from", type: "string", placeholder: "Shop <shop@example.com>" },
      { key: "replyTo", type: "string" },
      { key: "localDomain", type: "string" },
      { key: "maxConnections", type: "number", def: "4" },
      { key: "maxMessagesPerConnection", type: "number", def: "100" },
    ],
  },
  {
    kind: "webhook",
    channels: ["webhook"],
    fields: [
      { key: "url", type: "string", required: true, placeholder: "https://example.com/hooks/chuda" },
      { key: "secret", type: "secret", placeholder: "whsec_…" },
      { key: "headers", type: "json", placeholder: '{"X-Source": "chuda"}' },
    ],
  },
  { kind: "in_app", channels: ["in_app"], fields: [] },
  { kind: "sandbox", channels: [...ALL_CHANNELS], fields: [] },
  {
    kind: "smpp",
    channels: ["sms"],
    fields: [
      { key: "host", type: "string", required: true },
      { key: "port", type: "number", def: "2775" },
      { key: "systemId", type: "string", required: true },
      { key: "password", type: "secret" },
      { key: "systemType", type: "string" },
      { key: "sourceAddress", type: "string", required: true },
      { key: "sourceTon", type: "number" },
      { key: "sourceNpi", type: "number" },
      { key: "window", type: "number", def: "10" },
      { key: "enquireLinkSeconds", type: "number", def: "30" },
      { key: "responseTimeoutSeconds", type: "number", def: "10" },
      { key: "maxConnectSeconds", type: "number", def: "10" },
      { key: "registeredDelivery", type: "bool" },
      { key: "throttleSeconds", type: "number", def: "1" },
      { key: "reconnectMinSeconds", type: "number", def: "0.25" },
      { key: "reconnectMaxSeconds", type: "number", def: "30" },
    ],
  },
  {
    kind: "http_sms",
    channels: ["sms"],
    fields: [
      { key: "url", type: "string", required: true, placeholder: "https://sms.example.com/send?to={{to}}" },
      { key: "method", type: "enum", options: ["GET", "POST", "PUT"], def: "POST" },
      { key: "headers", type: "json" },
      { key: "body", type: "text" },
      { key: "bodyType", type: "enum", options: ["json", "form", "text"], def: "json" },
      { key: "secrets", type: "secretText", placeholder: '{"apiKey": "…"}' },
      { key: "signature", type: "json" },
      { key: "response", type: "json" },
      { key: "callback", type: "json" },
    ],
  },
  {
    kind: "twilio_sms",
    channels: ["sms"],
    fields: [
      { key: "accountSid", type: "string", required: true, placeholder: "AC…" },
      { key: "authToken", type: "secret", required: true },
      { key: "from", type: "string", placeholder: "+15005550006" },
      { key: "messagingServiceSid", type: "string", placeholder: "MG…" },
      { key: "statusCallbackUrl", type: "string" },
      { key: "endpoint", type: "string", def: "https://api.twilio.com" },
    ],
  },
  {
    kind: "aliyun_sms",
    channels: ["sms"],
    fields: [
      { key: "accessKeyId", type: "string", required: true },
      { key: "accessKeySecret", type: "secret", required: true },
      { key: "signName", type: "string", required: true },
      { key: "templateCode", type: "string", required: true, placeholder: "SMS_…" },
      { key: "textParam", type: "string", def: "content" },
      { key: "callbackToken", type: "secret" },
      { key: "undeliverableErrorCodes", type: "list", placeholder: "MK:0001" },
      { key: "rateLimitRetryAfterSeconds", type: "number", def: "60" },
      { key: "endpoint", type: "string", def: "https://dysmsapi.aliyuncs.com" },
      { key: "method", type: "enum", options: ["GET", "POST"], def: "GET" },
      { key: "regionId", type: "string", def: "cn-hangzhou" },
    ],
  },
  {
    kind: "webpush",
    channels: ["push"],
    fields: [
      { key: "vapidPublicKey", type: "string", required: true },
      { key: "vapidPrivateKey", type: "secret", required: true },
      { key: "subject", type: "string", required: true, placeholder: "mailto:ops@example.com" },
      { key: "ttlSeconds", type: "number", def: "86400" },
      { key: "urgency", type: "enum", options: ["very-low", "low", "normal", "high"] },
      timeout("30"),
    ],
  },
  {
    kind: "fcm",
    channels: ["push"],
    fields: [
      { key: "projectId", type: "string", required: true },
      { key: "serviceAccount", type: "secretText", required: true, placeholder: '{"type": "service_account", …}' },
      { key: "platforms", type: "multi", options: ["android", "ios"] },
      { key: "ttlSeconds", type: "number", def: "86400" },
      timeout("30"),
      { key: "endpoint", type: "string" },
      { key: "tokenUri", type: "string" },
    ],
  },
  {
    kind: "apns",
    channels: ["push"],
    fields: [
      { key: "teamId", type: "string", required: true },
      { key: "keyId", type: "string", required: true },
      { key: "privateKey", type: "secretText", required: true, placeholder: "-----BEGIN PRIVATE KEY-----" },
      { key: "topic", type: "string", required: true, placeholder: "com.example.app" },
      { key: "environment", type: "enum", options: ["production", "sandbox"], def: "production" },
      { key: "ttlSeconds", type: "number", def: "86400" },
      timeout("30"),
      { key: "endpoint", type: "string" },
    ],
  },
  {
    kind: "wechat_mp",
    channels: ["wechat"],
    fields: [
      { key: "appId", type: "string", required: true },
      { key: "appSecret", type: "secret", required: true },
      { key: "mode", type: "enum", options: ["template", "subscribe"], def: "template" },
      { key: "stableToken", type: "bool" },
      { key: "callbackToken", type: "secret" },
      timeout("10"),
      { key: "endpoint", type: "string", def: "https://api.weixin.qq.com" },
    ],
  },
  {
    kind: "wecom",
    channels: ["wechat"],
    fields: [
      { key: "corpId", type: "string", required: true },
      { key: "corpSecret", type: "secret", required: true },
      { key: "agentId", type: "number", required: true },
      { key: "messageType", type: "enum", options: ["textcard", "text", "markdown"], def: "textcard" },
      { key: "duplicateCheckIntervalSeconds", type: "number", def: "1800" },
      timeout("10"),
      { key: "endpoint", type: "string", def: "https://qyapi.weixin.qq.com" },
    ],
  },
  {
    kind: "http_voice",
    channels: ["voice"],
    fields: [
      { key: "accountSid", type: "string", required: true, placeholder: "AC…" },
      { key: "authToken", type: "secret", required: true },
      { key: "from", type: "string", required: true, placeholder: "+15005550006" },
      { key: "statusCallbackUrl", type: "string" },
      { key: "voice", type: "string", placeholder: "Polly.Zhiyu" },
      { key: "language", type: "string", placeholder: "zh-CN" },
      { key: "ringTimeoutSeconds", type: "number", def: "30" },
      { key: "endpoint", type: "string", def: "https://api.twilio.com" },
    ],
  },
];

export function kindSpec(kind: string): KindSpec | undefined {
  return KINDS.find((k) => k.kind === kind);
}

export const SECRET_MASK = "***";

export interface QuietWindow {
  start: string;
  end: string;
}

export interface FrequencyCap {
  limit: number;
  period: "calendar_day" | "rolling_day" | "rolling_week";
  channel?: string;
  category?: string;
}

export interface DeliveryPolicy {
  quietHours: QuietWindow | null;
  quietHoursByChannel: Record<string, QuietWindow | null>;
  frequencyCaps: FrequencyCap[];
  capAllowList: { userIds: string[]; tags: string[] };
  marketingRequiresOptIn: boolean;
  dedupWindow: string;
  coolDown: { ignoredInARow: number; ignoredPeriod: string; complaintPeriod: string; unsubscribePeriod: string };
  channelOrder: string[];
}

export interface MessageView {
  id: string;
  userId: string | null;
  address: string | null;
  source: string;
  journey: string | null;
  step: string | null;
  template: string | null;
  category: string;
  lane: string;
  channels: string[];
  channel: string | null;
  recipient: string | null;
  provider: string | null;
  status: string;
  reason: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  content: Record<string, unknown> | null;
}

export interface MessagePage {
  messages: MessageView[];
  next: string | null;
}

export interface SuppressionView {
  kind: string;
  address: string;
  reason: string;
  detail: string | null;
  createdAt: string;
}

export interface Settings {
  timeZone: string | null;
  journeyApprovals: boolean;
  webhookSecret: string;
  templateApprovals: boolean;
}
