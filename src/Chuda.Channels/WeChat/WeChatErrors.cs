using Chuda.Channels.Providers;

namespace Chuda.Channels.WeChat;

/// <summary>
/// What WeChat (official account) and WeCom <c>errcode</c> values mean for a message. Sources, checked through public copies
/// of the documentation: the official-account global return codes (-1, 40001, 40003, 40013, 40014, 40033, 40037, 42001,
/// 43004, 45009), the sendTemplateMessage / subscribe-message pages (40003, 40037, 43101, 47003, 41030), the
/// getAccessToken / getStableAccessToken pages (40013, 40125, 40164, 40243), WeCom's global return codes and
/// message/send page (40001 invalid secret, 40003 invalid UserID, 40013 invalid CorpID, 40014, 40056 invalid agentid,
/// 42001, 45009, 81013 all recipients invalid, 301002 no permission for the agent). Seen in vendor answers but not in a
/// documentation table: 45011 ("api minute-quota reach limit, must slower, retry next minute"), 45047 (customer-service
/// reply quota). NOT verified: 60111 (WeCom "userid not found") — treated as a hard bounce as the brief asks.
/// </summary>
public static class WeChatErrors
{
    /// <summary>The access token was rejected (invalid credential / invalid token / expired): refresh it and retry once.</summary>
    public static bool IsTokenRejected(int code) => code is 40001 or 40014 or 42001;

    /// <summary>How long to wait on a frequency or quota limit.</summary>
    public static TimeSpan? RetryAfter(int code, bool wecom) => code switch
    {
        // "api minute-quota reach limit ... retry next minute".
        45011 => TimeSpan.FromMinutes(1),
        // Official account: the daily API quota ("reach max api daily quota limit"); WeCom: "api freq out of limit".
        45009 => wecom ? TimeSpan.FromMinutes(1) : TimeSpan.FromHours(1),
        // Per-user reply quota: frees up only when the person interacts with the account.
        45047 => TimeSpan.FromHours(1),
        // WeCom: concurrent calls over the limit.
        45033 => TimeSpan.FromSeconds(5),
        _ => null,
    };

    /// <summary>A failed access-token request: always a provider-level failure (wrong secret, wrong app id, server IP not
    /// in the allow-list, frozen secret, quota), so the engine fails over to the channel's next provider.</summary>
    public static ProviderResult TokenFailure(int code, string message, bool wecom)
    {
        var what = code switch
        {
            40001 => wecom ? "invalid corpSecret" : "invalid credential (AppSecret wrong?)",
            40125 => "invalid appSecret",
            40013 => wecom ? "invalid corpId" : "invalid appId",
            40164 => "this server's IP is not in the account's IP allow-list",
            40243 => "the AppSecret is frozen",
            40091 => "invalid corpSecret",
            _ => "access token request refused",
        };
        return new ProviderResult(ProviderOutcome.TransientFailure, $"{what}: {code} {message}".TrimEnd(), RetryAfter: RetryAfter(code, wecom), ProviderDown: true);
    }

    /// <summary>An official-account send (template or subscribe message) that answered <paramref name="code"/> ≠ 0.</summary>
    public static ProviderResult OfficialAccount(int code, string message)
    {
        var detail = $"{code} {message}".TrimEnd();
        return code switch
        {
            // System busy.
            -1 => new ProviderResult(ProviderOutcome.TransientFailure, detail),
            45009 or 45011 or 45047 => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: RetryAfter(code, wecom: false)),
            // Invalid openid: not a user of this account (never was, or another account's openid).
            40003 => new ProviderResult(ProviderOutcome.PermanentFailure, "invalid openid: " + detail, HardBounce: true),
            // The person does not follow the account (any more) / refused or used up their subscription.
            43004 => new ProviderResult(ProviderOutcome.PermanentFailure, "the user does not follow the account: " + detail),
            43101 => new ProviderResult(ProviderOutcome.PermanentFailure, "the user refused the message: " + detail),
            // Template configuration: wrong template id, template parameters, mini-program page.
            40037 => new ProviderResult(ProviderOutcome.PermanentFailure, "invalid template_id (check the template's WeChat template id): " + detail),
            47003 => new ProviderResult(ProviderOutcome.PermanentFailure, "template data rejected: " + detail),
            41030 => new ProviderResult(ProviderOutcome.PermanentFailure, "invalid mini-program page: " + detail),
            // The account itself: app id, IP allow-list, API not authorised, token rejected after a refresh.
            40001 or 40014 or 42001 or 40013 or 40125 or 40164 or 40243 or 48001 =>
                new ProviderResult(ProviderOutcome.TransientFailure, "account-level error: " + detail, ProviderDown: true),
            // Anything else is a request the account refuses (bad field, content too long): retrying it changes nothing.
            _ => new ProviderResult(ProviderOutcome.PermanentFailure, detail),
        };
    }

    /// <summary>A WeCom <c>message/send</c> that answered <paramref name="code"/> ≠ 0.</summary>
    public static ProviderResult WeCom(int code, string message)
    {
        var detail = $"{code} {message}".TrimEnd();
        return code switch
        {
            -1 or 6000 => new ProviderResult(ProviderOutcome.TransientFailure, detail),
            45009 or 45011 or 45033 => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: RetryAfter(code, wecom: true)),
            // All recipients invalid (not in the app's visible range, or no such user); invalid UserID; userid not found.
            81013 or 40003 or 60111 => new ProviderResult(ProviderOutcome.PermanentFailure, "unknown WeCom user: " + detail, HardBounce: true),
            // The application: agentid wrong, or the token's app is not the agentid's app; corp id; token rejected after a refresh.
            40056 or 301002 or 40013 or 40001 or 40014 or 42001 or 40091 =>
                new ProviderResult(ProviderOutcome.TransientFailure, "application-level error: " + detail, ProviderDown: true),
            _ => new ProviderResult(ProviderOutcome.PermanentFailure, detail),
        };
    }
}
