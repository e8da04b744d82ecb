namespace Chuda.Server.Tests;

/// <summary>The <c>chuda serve</c> command line.</summary>
public sealed class CliTests
{
    [Fact]
    public void Allow_networks_reach_the_webhook_and_vendor_SSRF_rules()
    {
        var (command, options) = Cli.Cli.Parse(["serve", "--allow-networks", "10.20.0.0/16, fd00::/8,192.168.1.7", "--public-url", "https://chuda.example.com"]);
        Assert.Equal("serve", command);
        var serve = options.ToServeOptions();
        Assert.Equal(["10.20.0.0/16", "fd00::/8", "192.168.1.7"], serve.Journeys.WebhookAllowedNetworks);
        Assert.Equal(new Uri("https://chuda.example.com/"), serve.PublicUrl);

        Assert.Empty(Cli.Cli.Parse(["serve"]).Options.ToServeOptions().Journeys.WebhookAllowedNetworks);
    }

    [Theory]
    [InlineData("10.20.0.0/33")]
    [InlineData("intranet")]
    [InlineData("10.0.0.1,nope")]
    [InlineData("10.0.0.1/8")]
    [InlineData("0.0.0.0/0")]
    public void A_bad_network_is_a_usage_error_naming_it(string value)
    {
        var (_, options) = Cli.Cli.Parse(["serve", "--allow-networks", value]);
        var error = Assert.ThrowsAny<Exception>(() => options.ToServeOptions());
        Assert.Equal("UsageException", error.GetType().Name);
        Assert.Contains("--allow-networks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_is_a_flag_that_takes_no_value()
    {
        var serve = Cli.Cli.Parse(["serve", "--demo", "--urls", "http://127.0.0.1:5199"]).Options.ToServeOptions();
        Assert.Equal("http://127.0.0.1:5199", serve.Urls);
        Assert.NotNull(serve.Demo);
        Assert.Equal(3000, serve.Demo.Profiles);

        Assert.Equal(200, Cli.Cli.Parse(["serve", "--demo", "--demo-profiles", "200"]).Options.ToServeOptions().Demo!.Profiles);
        Assert.Null(Cli.Cli.Parse(["serve", "--demo=false"]).Options.ToServeOptions().Demo);
        if (Environment.GetEnvironmentVariable("CHUDA_DEMO") is null) Assert.Null(Cli.Cli.Parse(["serve"]).Options.ToServeOptions().Demo);

        var error = Assert.ThrowsAny<Exception>(() => Cli.Cli.Parse(["serve", "--demo", "--demo-profiles", "3"]).Options.ToServeOptions());
        Assert.Equal("UsageException", error.GetType().Name);
        Assert.Contains("--demo-profiles", error.Message, StringComparison.Ordinal);
    }
}
