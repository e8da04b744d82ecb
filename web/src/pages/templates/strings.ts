import { useLang } from "../../i18n";

// Channel and field names shared by the template pages (and the delivery pages).

const CHANNEL_NAMES: Record<string, { en: string; zh: string }> = {
  email: { en: "Email", zh: "邮件" },
  sms: { en: "SMS", zh: "短信" },
  push: { en: "Push", zh: "推送" },
  in_app: { en: "In-app", zh: "站内信" },
  wechat: { en: "WeChat", zh: "微信" },
  webhook: { en: "Webhook", zh: "Webhook" },
  voice: { en: "Voice", zh: "语音" },
};

const FIELD_NAMES: Record<string, { en: string; zh: string }> = {
  subject: { en: "Subject", zh: "主题" },
  from: { en: "From", zh: "发件人" },
  replyTo: { en: "Reply-To", zh: "回复地址" },
  html: { en: "HTML body", zh: "HTML 正文" },
  text: { en: "Text", zh: "文本" },
  title: { en: "Title", zh: "标题" },
  body: { en: "Body", zh: "正文" },
  deepLink: { en: "Deep link", zh: "深度链接" },
  image: { en: "Image URL", zh: "图片地址" },
  data: { en: "Data", zh: "数据" },
  "action.label": { en: "Button label", zh: "按钮文字" },
  "action.url": { en: "Button URL", zh: "按钮链接" },
  templateId: { en: "WeChat template ID", zh: "微信模板 ID" },
  url: { en: "Link URL", zh: "跳转链接" },
  "miniprogram.appid": { en: "Mini program AppID", zh: "小程序 AppID" },
  "miniprogram.pagepath": { en: "Mini program page", zh: "小程序页面路径" },
  language: { en: "Speech language", zh: "播报语言" },
  repeat: { en: "Repeat (1–3)", zh: "重复次数（1–3）" },
};

export function useChannelLabel() {
  const lang = useLang();
  return (channel: string) => CHANNEL_NAMES[channel]?.[lang] ?? channel;
}

export function useFieldLabel() {
  const lang = useLang();
  return (channel: string, path: string) => {
    if (channel === "email" && path === "text") return lang === "zh" ? "纯文本正文" : "Plain-text body";
    if (channel === "sms" && path === "text") return lang === "zh" ? "短信内容" : "Message text";
    if (channel === "voice" && path === "text") return lang === "zh" ? "播报文本" : "Spoken text";
    if (channel === "webhook" && path === "body") return lang === "zh" ? "JSON 请求体" : "JSON body";
    return FIELD_NAMES[path]?.[lang] ?? path;
  };
}
