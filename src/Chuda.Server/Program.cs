using Chuda.Server.Cli;

return await Cli.RunAsync(args);
