using System.Globalization;
using System.Text;

namespace Chuda.Server.Demo;

/// <summary>
/// The demo workspace's templates (docs/templates.md), segments (docs/segments.md) and journeys (docs/journeys.md),
/// as the JSON a user would send to the API. The journeys' waits come from <see cref="DemoOptions"/> (accelerated).
/// </summary>
public static class DemoContent
{
    public sealed record Item(string Id, string Name, string Json);

    /// <summary>An ISO 8601 duration with fixed units (PT2M, PT1H30M, P3D), as the rule and journey parsers read them.</summary>
    public static string Duration(TimeSpan d)
    {
        var s = new StringBuilder("P");
        if (d.Days > 0) s.Append(d.Days.ToString(CultureInfo.InvariantCulture)).Append('D');
        if (d.Hours > 0 || d.Minutes > 0 || d.Seconds > 0)
        {
            s.Append('T');
            if (d.Hours > 0) s.Append(d.Hours.ToString(CultureInfo.InvariantCulture)).Append('H');
            if (d.Minutes > 0) s.Append(d.Minutes.ToString(CultureInfo.InvariantCulture)).Append('M');
            if (d.Seconds > 0) s.Append(d.Seconds.ToString(CultureInfo.InvariantCulture)).Append('S');
        }
        return s.ToString();
    }

    public static readonly IReadOnlyList<Item> Templates =
    [
        new("cart-reminder", "Cart reminder", """
        {
          "name": "Cart reminder",
          "category": "marketing",
          "defaultLocale": "en",
          "locales": {
            "en": {
              "email": {
                "subject": "{{default profile.first_name \"Hi\"}}, your {{event.product_name}} is still in your cart",
                "html": "<p>Hi {{default profile.first_name \"there\"}},</p><p>You left <strong>{{event.product_name}}</strong> ({{formatCurrency event.cart_value \"CNY\"}}) in your cart. It is saved for you, but stock is limited.</p><p><a href=\"https://shop.example.com/cart/{{urlEncode event.cart_id}}\">Back to your cart</a></p><p style=\"color:#888\"><a href=\"{{message.unsubscribe_url}}\">Unsubscribe</a></p>",
                "text": "Hi {{default profile.first_name \"there\"}}, you left {{event.product_name}} in your cart: https://shop.example.com/cart/{{urlEncode event.cart_id}}",
                "from": "Chuda Demo Shop <shop@example.com>"
              },
              "push": {
                "title": "Still thinking it over?",
                "body": "{{event.product_name}} is waiting in your cart",
                "data": { "cart_id": "{{event.cart_id}}" },
                "deepLink": "chudashop://cart/{{event.cart_id}}"
              },
              "sms": { "text": "Chuda Shop: {{default profile.first_name \"Hi\"}}, {{event.product_name}} is still in your cart. Check out: https://s.example.com/{{urlEncode event.cart_id}} Reply STOP to opt out" }
            },
            "zh-Hans": {
              "email": {
                "subject": "{{default profile.name \"亲\"}}，您的{{event.product_name}}还在购物车里",
                "html": "<p>{{default profile.name \"亲爱的顾客\"}}，您好：</p><p>您加入购物车的 <strong>{{event.product_name}}</strong>（{{formatCurrency event.cart_value \"CNY\"}}）还没有结算，库存有限，我们先为您保留。</p><p><a href=\"https://shop.example.com/cart/{{urlEncode event.cart_id}}\">返回购物车</a></p><p style=\"color:#888\"><a href=\"{{message.unsubscribe_url}}\">退订</a></p>",
                "text": "{{default profile.name \"亲爱的顾客\"}}，您购物车里的{{event.product_name}}还没有结算：https://shop.example.com/cart/{{urlEncode event.cart_id}}",
                "from": "初达商城 <shop@example.com>"
              },
              "push": {
                "title": "还在犹豫吗？",
                "body": "{{event.product_name}}还在购物车里等您",
                "data": { "cart_id": "{{event.cart_id}}" },
                "deepLink": "chudashop://cart/{{event.cart_id}}"
              },
              "sms": { "text": "【初达商城】{{default profile.name \"亲\"}}，购物车里的{{event.product_name}}还没结算：https://s.example.com/{{urlEncode event.cart_id}} 回T退订" }
            }
          },
          "required": ["event.cart_id"]
        }
        """),
        new("welcome", "Welcome", """
        {
          "name": "Welcome",
          "category": "transactional",
          "defaultLocale": "en",
          "locales": {
            "en": {
              "email": {
                "subject": "Welcome to Chuda Shop, {{default profile.first_name \"friend\"}}!",
                "html": "<h1>Welcome, {{default profile.first_name \"friend\"}}!</h1><p>Thanks for joining Chuda Shop. New members get free shipping on their first order.</p><p><a href=\"https://shop.example.com/new\">See what is new</a></p>",
                "from": "Chuda Demo Shop <hello@example.com>"
              },
              "in_app": {
                "title": "Welcome aboard",
                "body": "Your first order ships free. Happy shopping!",
                "action": { "label": "Start shopping", "url": "https://shop.example.com/new" }
              }
            },
            "zh-Hans": {
              "email": {
                "subject": "欢迎加入初达商城，{{default profile.name \"新朋友\"}}！",
                "html": "<h1>{{default profile.name \"新朋友\"}}，欢迎您！</h1><p>感谢注册初达商城，新会员首单包邮。</p><p><a href=\"https://shop.example.com/new\">看看新品</a></p>",
                "from": "初达商城 <hello@example.com>"
              },
              "in_app": {
                "title": "欢迎加入",
                "body": "首单包邮，祝您购物愉快！",
                "action": { "label": "去逛逛", "url": "https://shop.example.com/new" }
              }
            }
          }
        }
        """),
        new("first-order-offer", "First-order offer", """
        {
          "name": "First-order offer",
          "category": "marketing",
          "defaultLocale": "en",
          "locales": {
            "en": {
              "push": { "title": "10% off your first order", "body": "Use code HELLO10 at checkout today", "deepLink": "chudashop://new" },
              "email": {
                "subject": "{{default profile.first_name \"Hi\"}}, here is 10% off your first order",
                "html": "<p>Hi {{default profile.first_name \"there\"}},</p><p>Use code <strong>HELLO10</strong> for 10% off your first order.</p><p><a href=\"{{message.unsubscribe_url}}\">Unsubscribe</a></p>",
                "from": "Chuda Demo Shop <hello@example.com>"
              }
            },
            "zh-Hans": {
              "push": { "title": "首单九折券已到账", "body": "结算时输入 HELLO10 立享九折", "deepLink": "chudashop://new" },
              "email": {
                "subject": "{{default profile.name \"亲\"}}，送您一张首单九折券",
                "html": "<p>{{default profile.name \"亲爱的顾客\"}}，您好：</p><p>结算时输入优惠码 <strong>HELLO10</strong>，首单立享九折。</p><p><a href=\"{{message.unsubscribe_url}}\">退订</a></p>",
                "from": "初达商城 <hello@example.com>"
              }
            }
          }
        }
        """),
        new("order-confirmation", "Order confirmation", """
        {
          "name": "Order confirmation",
          "category": "transactional",
          "defaultLocale": "en",
          "locales": {
            "en": {
              "email": {
                "subject": "Order {{event.order_id}} confirmed",
                "html": "<p>Thank you, {{default profile.first_name \"there\"}}!</p><p>We received your order <strong>{{event.order_id}}</strong>: {{event.item_count}} × {{event.product_name}}, {{formatCurrency event.revenue \"CNY\"}} in all.</p><p>We will let you know when it ships.</p>",
                "from": "Chuda Demo Shop <orders@example.com>"
              }
            },
            "zh-Hans": {
              "email": {
                "subject": "订单 {{event.order_id}} 已确认",
                "html": "<p>{{default profile.name \"亲爱的顾客\"}}，感谢您的订购！</p><p>我们已收到您的订单 <strong>{{event.order_id}}</strong>：{{event.product_name}} × {{event.item_count}}，合计 {{formatCurrency event.revenue \"CNY\"}}。</p><p>发货后我们会第一时间通知您。</p>",
                "from": "初达商城 <orders@example.com>"
              }
            }
          },
          "required": ["event.order_id"]
        }
        """),
        new("winback-coupon", "Win-back coupon", """
        {
          "name": "Win-back coupon",
          "category": "marketing",
          "defaultLocale": "en",
          "locales": {
            "en": { "sms": { "text": "Chuda Shop: we miss you, {{default profile.first_name \"friend\"}}! 20% off anything this week with code COMEBACK20. Reply STOP to opt out" } },
            "zh-Hans": { "sms": { "text": "【初达商城】{{default profile.name \"亲\"}}，好久不见！本周全场八折，下单输入 COMEBACK20 即可使用。回T退订" } }
          }
        }
        """),
    ];

    public static readonly IReadOnlyList<Item> Segments =
    [
        new("cart-abandoners-24h", "Cart abandoners (24h)", """
        {"sequence": {"first": {"event": "Product Added"}, "not_followed_by": {"event": "Order Completed"},
                      "within": "PT1H", "match": "cart_id", "lookback": "P1D"}}
        """),
        new("vip", "VIP: lifetime value ≥ 1000", """{"trait": "lifetime_value", "op": "gte", "value": 1000}"""),
        new("shanghai", "Shanghai users", """{"trait": "city", "op": "eq", "value": "Shanghai"}"""),
        new("pricing-no-order", "Viewed pricing 3+ times, no order", """
        {"and": [
          {"event": "Viewed Page", "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
           "count": {"op": "at_least", "value": 3}, "within": "P14D"},
          {"not_performed": "Order Completed", "within": "P14D"}
        ]}
        """),
        new("inactive-7d", "Inactive 7 days", """{"last_performed": "Viewed Page", "op": "more_than_ago", "value": "P7D"}"""),
        new("app-users", "Reachable by push", """{"reachable": "push"}"""),
        new("new-signups-7d", "Signed up in the last 7 days", """{"first_performed": "Signed Up", "op": "within_last", "value": "P7D"}"""),
    ];

    /// <summary>The journeys, with the options' accelerated waits filled in.</summary>
    public static IReadOnlyList<Item> Journeys(DemoOptions o) =>
    [
        new("abandoned-cart", "Abandoned cart", $$$"""
        {
          "schema": 1,
          "name": "Abandoned cart",
          "description": "Waits {{{Duration(o.CartWait)}}} for the order (30 minutes in a real shop, accelerated for the demo); then a push to app users, else an SMS (e-mail as fallback). Converts on the same cart's order.",
          "trigger": {"type": "event", "event": "Product Added", "where": [{"property": "cart_id", "op": "exists"}]},
          "re_entry": {"policy": "not_while_active"},
          "goal": {"event": "Order Completed", "match": "cart_id", "within": "{{{Duration(o.CartWait * 5)}}}"},
          "steps": [
            {"id": "wait-for-order", "type": "wait_for_event", "event": "Order Completed", "match": "cart_id",
             "timeout": "{{{Duration(o.CartWait)}}}", "on_event": "ordered", "on_timeout": "has-app"},
            {"id": "ordered", "type": "exit"},
            {"id": "has-app", "type": "branch",
             "branches": [{"when": {"profile": {"reachable": "push"}}, "next": "push-reminder"}],
             "else": "sms-reminder"},
            {"id": "push-reminder", "type": "send", "template": "cart-reminder", "channel": "push", "category": "marketing"},
            {"id": "sms-reminder", "type": "send", "template": "cart-reminder", "channels": ["sms", "email"], "category": "marketing"}
          ]
        }
        """),
        new("welcome-series", "Welcome series", $$$"""
        {
          "schema": 1,
          "name": "Welcome series",
          "description": "Welcome e-mail and in-app message at once; after {{{Duration(o.WelcomeWait)}}} (days in a real shop) a first-order offer to those who have not ordered.",
          "trigger": {"type": "event", "event": "Signed Up"},
          "re_entry": {"policy": "once"},
          "goal": {"event": "Order Completed", "within": "P1D"},
          "steps": [
            {"id": "welcome-email", "type": "send", "template": "welcome", "channel": "email", "category": "transactional", "next": "welcome-in-app"},
            {"id": "welcome-in-app", "type": "send", "template": "welcome", "channel": "in_app", "category": "transactional", "next": "wait"},
            {"id": "wait", "type": "wait", "duration": "{{{Duration(o.WelcomeWait)}}}", "next": "ordered-yet"},
            {"id": "ordered-yet", "type": "branch",
             "branches": [{"when": {"profile": {"event": "Order Completed"}}, "next": "done"}],
             "else": "first-order-offer"},
            {"id": "first-order-offer", "type": "send", "template": "first-order-offer", "channels": ["push", "email"], "category": "marketing", "next": "done"},
            {"id": "done", "type": "exit"}
          ]
        }
        """),
        new("order-confirmation", "Order confirmation", """
        {
          "schema": 1,
          "name": "Order confirmation",
          "description": "A transactional e-mail for every completed order.",
          "trigger": {"type": "event", "event": "Order Completed", "where": [{"property": "order_id", "op": "exists"}]},
          "steps": [
            {"id": "confirm", "type": "send", "template": "order-confirmation", "channel": "email", "category": "transactional"}
          ]
        }
        """),
        new("vip-win-back", "VIP win-back", $$$"""
        {
          "schema": 1,
          "name": "VIP win-back",
          "description": "A VIP who has been inactive for 7 days gets a coupon by SMS; without an order within {{{Duration(o.WinBackWait)}}} the VIP care team gets a call-back task.",
          "trigger": {"type": "segment_entered", "segment": "inactive-7d"},
          "entry_filter": {"profile": {"member_of": "vip"}},
          "re_entry": {"policy": "after_cooldown", "cooldown": "P30D"},
          "goal": {"event": "Order Completed", "within": "P7D"},
          "steps": [
            {"id": "coupon", "type": "send", "template": "winback-coupon", "channel": "sms", "category": "marketing", "next": "wait-for-order"},
            {"id": "wait-for-order", "type": "wait_for_event", "event": "Order Completed",
             "timeout": "{{{Duration(o.WinBackWait)}}}", "on_event": "won-back", "on_timeout": "call-back"},
            {"id": "won-back", "type": "exit"},
            {"id": "call-back", "type": "task", "title": "Call back an inactive VIP", "note": "Sent the COMEBACK20 coupon; no order since.",
             "queue": "vip-care", "due_in": "PT4H", "next": "tag"},
            {"id": "tag", "type": "update_profile", "add_tags": ["churn-risk"]}
          ]
        }
        """),
    ];
}
