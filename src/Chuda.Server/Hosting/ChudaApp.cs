using Chuda.Channels.Providers;
using Chuda.Channels.Sms.Http;
using Chuda.Channels.Webhooks;
using Chuda.Engine;
using Chuda.Engine.Delivery;
using Chuda.Engine.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Server.Api;
using Chuda.Storage;

namespace Chuda.Server.Hosting;

/// <summary>Composes the server: store, engine, HTTP API. <c>chuda serve</c>, the tests and the benchmarks all start it here.</summary>
public static class ChudaApp
{
    public static async Task<WebApplication> BuildAsync(ServeOptions options, CancellationToken cancellationToken)
    {
        options.Engine.Validate();
        options.Sessions.Validate();
        options.Demo?.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.VerboseLogging ? LogLevel.Information : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Information);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });

        var store = await StoreFactory.OpenAsync(new StoreOptions(options.Store, options.DataDirectory), cancellationToken);
        try
        {
            await store.MigrateAsync(cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }

        // A factory registration, so the container owns the store and disposes it (closing its connection pool) with the app;
        // an instance registration would leave it open, one pool per server started in a process.
        builder.Services.AddSingleton<IChudaStore>(_ => store);
        builder.Services.AddSingleton(options.Time);
        builder.Services.AddSingleton(options.Engine);
        builder.Services.AddSingleton<WorkspaceDirectory>();
        builder.Services.AddSingleton(options.Sessions);
        builder.Services.AddSingleton<ConsoleSessions>();
        builder.Services.AddSingleton(options.Segments);
        builder.Services.AddSingleton<SegmentCatalog>();
        builder.Services.AddSingleton<SegmentService>();
        builder.Services.AddSingleton(options.Journeys);
        builder.Services.AddSingleton<JourneyCatalog>();
        // Segment and journey catalogs and the journey options are passed explicitly: the partitions run the journey
        // stage only when they have them, and a missing registration must not silently turn it off.
        builder.Services.AddSingleton(sp => new ProfilePartitions(sp.GetRequiredService<IChudaStore>(), sp.GetRequiredService<WorkspaceDirectory>(),
            sp.GetRequiredService<EngineOptions>(), sp.GetRequiredService<ILogger<ProfilePartitions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<SegmentCatalog>(), sp.GetRequiredService<JourneyCatalog>(), sp.GetRequiredService<JourneyOptions>()));
        builder.Services.AddSingleton<SegmentScheduler>();
        builder.Services.AddSingleton<SegmentBackfill>();
        builder.Services.AddSingleton<JourneyService>();
        builder.Services.AddSingleton<JourneyScheduler>();
        builder.Services.AddSingleton<JourneyRunner>();
        builder.Services.AddSingleton<WebhookDispatcher>();
        var delivery = options.Delivery ?? new DeliveryOptions();
        if (options.PublicUrl is { } publicUrl) delivery.PublicBaseUrl = publicUrl;
        builder.Services.AddSingleton(delivery);
        builder.Services.AddSingleton(sp => new WebhookClient(new WebhookClientOptions
        {
            Security = new WebhookSecurityOptions
            {
                AllowedHosts = sp.GetRequiredService<Chuda.Engine.Journeys.JourneyOptions>().WebhookAllowedHosts,
                AllowedNetworks = sp.GetRequiredService<Chuda.Engine.Journeys.JourneyOptions>().WebhookAllowedNetworks,
            },
        }, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<WebhookClient>>()));
        builder.Services.AddSingleton<IProviderFactory, SandboxProviderFactory>();
        builder.Services.AddSingleton<IProviderFactory, InAppProviderFactory>();
        builder.Services.AddSingleton<IProviderFactory>(sp => new WebhookChannelProviderFactory(sp.GetRequiredService<WebhookClient>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new SmtpProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        // Issue 6: SMS (SMPP, HTTP gateways), push (Web Push, FCM, APNs), WeChat / WeCom and voice. HTTP vendors' URLs are workspace
        // configuration: like webhooks they may only reach public addresses unless allow-listed.
        builder.Services.AddSingleton(sp => new WebhookSecurityOptions
        {
            AllowedHosts = sp.GetRequiredService<Chuda.Engine.Journeys.JourneyOptions>().WebhookAllowedHosts,
            AllowedNetworks = sp.GetRequiredService<Chuda.Engine.Journeys.JourneyOptions>().WebhookAllowedNetworks,
        });
        builder.Services.AddSingleton(sp => new HttpGatewayOptions { Security = sp.GetRequiredService<WebhookSecurityOptions>() });
        builder.Services.AddSingleton<IProviderFactory>(sp => new SmppProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new HttpSmsProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<HttpGatewayOptions>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new TwilioSmsProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<HttpGatewayOptions>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new AliyunSmsProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<HttpGatewayOptions>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new HttpVoiceProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<HttpGatewayOptions>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new WebPushProviderFactory(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<WebhookSecurityOptions>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new FcmProviderFactory(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new ApnsProviderFactory(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new WeChatProviderFactory(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IProviderFactory>(sp => new WeComProviderFactory(sp.GetRequiredService<TimeProvider>()));
        foreach (var factory in options.ProviderFactories) builder.Services.AddSingleton(factory);
        builder.Services.AddSingleton<ProviderReportQueue>();
        builder.Services.AddSingleton<ProviderReportWorker>();
        builder.Services.AddSingleton<DeliveryCatalog>();
        builder.Services.AddSingleton<MessageComposer>();
        builder.Services.AddSingleton<DeliveryDispatcher>();
        builder.Services.AddSingleton<InboxHub>();
        builder.Services.AddSingleton<DeliveryService>();
        // Hosted services stop in reverse order: the schedulers, backfill, broadcast runner and webhook dispatcher stop
        // handing work to the partitions first; the partitions drain last.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProfilePartitions>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SegmentScheduler>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SegmentBackfill>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JourneyScheduler>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JourneyRunner>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeliveryDispatcher>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProviderReportWorker>());
        if (options.Demo is { } demo)
        {
            // Last, so it stops first: no new demo events while the engine drains.
            builder.Services.AddSingleton(demo);
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton<Chuda.Server.Demo.DemoService>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<Chuda.Server.Demo.DemoService>());
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.Engine.DrainTimeout + TimeSpan.FromSeconds(5));
        builder.Services.AddProblemDetails();
        builder.Services.AddRequestDecompression();
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Chuda API";
            doc.Info.Description = "Segment-compatible ingestion (/v1/*, write key as Basic-auth user name) and the management API (/api/v1/*, admin key as Bearer token).";
            return Task.CompletedTask;
        }));

        var app = builder.Build();
        // Segments must be known before the first event is processed, or its membership changes would be missed.
        await app.Services.GetRequiredService<SegmentCatalog>().RefreshAsync(cancellationToken);
        // Likewise journeys: an event processed before the catalog is loaded would start or advance no journey.
        await app.Services.GetRequiredService<JourneyCatalog>().RefreshAsync(cancellationToken);
        // Journeys' messages wake the dispatcher after their batch commits; the inbox hub listens to the dispatcher.
        var dispatcher = app.Services.GetRequiredService<DeliveryDispatcher>();
        app.Services.GetRequiredService<JourneyCatalog>().MessagesQueued += _ =>
        {
            dispatcher.Wake(Chuda.Domain.Delivery.Lane.Transactional);
            dispatcher.Wake(Chuda.Domain.Delivery.Lane.Marketing);
        };
        _ = app.Services.GetRequiredService<InboxHub>();
        if (options.PublicUrl is null)
        {
            // Links point at the address the server really listens on (known once started; port 0 picks one).
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                if (app.Urls.FirstOrDefault() is { } url) delivery.PublicBaseUrl = new Uri(url.TrimEnd('/') + "/");
            });
        }
        var directory = app.Services.GetRequiredService<WorkspaceDirectory>();
        var issued = await directory.BootstrapAsync(options.WriteKey, options.AdminKey, cancellationToken);
        if (issued is not null)
        {
            await options.Console.WriteLineAsync($"""
                Created workspace '{issued.Workspace.Name}'. These keys are shown once; keep them.
                  write key (ingestion, Basic-auth user name): {issued.WriteKey}
                  admin key (management API, Bearer token):   {issued.AdminKey}
                """);
        }

        app.UseExceptionHandler();
        app.UseRequestDecompression();
        app.UseConsole(options.ConsoleDirectory);
        app.MapGet("/health", (IChudaStore s, ProfilePartitions p) =>
                TypedResults.Ok(new HealthView("ok", s.Kind, p.PartitionCount, p.Queued)))
            .WithTags("Operations").WithName("health").WithSummary("200 once the store is open and migrated");
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapIngestionApi();
        app.MapProfilesApi();
        app.MapWorkspacesApi();
        app.MapSegmentsApi();
        app.MapJourneysApi();
        app.MapDeliveryApi();
        app.MapTrackingApi();
        app.MapCallbacksApi();
        app.MapSessionApi();
        app.MapDashboardApi();
        return app;
    }
}

public sealed record HealthView(string Status, string Store, int Partitions, long Queued);
