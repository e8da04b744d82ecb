namespace Chuda.Domain.Profiles;

/// <summary>
/// One identifier that points at a profile within a workspace: the user id, an anonymous id,
/// an e-mail, a phone number (E.164), a push token, a WeChat openid, or an external id.
/// Values are stored normalised (see <see cref="IdentityKinds"/>).
/// </summary>
public readonly record struct IdentityKey(string Kind, string Value)
{
    public override string ToString() => $"{Kind}:{Value}";
}

public static class IdentityKinds
{
    public const string UserId = "user_id";
    public const string AnonymousId = "anonymous_id";
    /// <summary>Lower-cased, trimmed e-mail address.</summary>
    public const string Email = "email";
    /// <summary>E.164 phone number, e.g. <c>+8613800138000</c>.</summary>
    public const string Phone = "phone";
    public const string WeChatOpenId = "wechat_openid";
    public const string WeChatUnionId = "wechat_unionid";
    /// <summary>A WeCom (企业微信) user id, from the <c>wecom_userid</c> trait.</summary>
    public const string WeComUserId = "wecom_userid";
    /// <summary>Prefix of push token kinds: <c>push:ios</c>, <c>push:android</c>, <c>push:web</c>, ...</summary>
    public const string PushPrefix = "push:";
    /// <summary>Prefix of external id kinds from Segment's <c>context.externalIds</c>: <c>external:crm_id</c>.</summary>
    public const string ExternalPrefix = "external:";

    /// <summary>True for the kinds that an erasure must put on the suppression list (contact points).</summary>
    public static bool IsContactPoint(string kind) => kind is Email or Phone;

    /// <summary>True for kinds that may belong to only one known user; sharing one never merges two known users.</summary>
    public static bool IsPrimary(string kind) => kind is UserId or AnonymousId;
}
