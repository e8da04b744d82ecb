namespace Chuda.Channels.Sms.Http;

/// <summary>E.164 numbers as the profile stores them: <c>+</c>, a country code and up to 15 digits in all.</summary>
public static class PhoneNumbers
{
    public static bool IsE164(string? recipient) =>
        recipient is { Length: >= 8 and <= 16 } && recipient[0] == '+' && recipient[1] != '0' && recipient.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0;
}
