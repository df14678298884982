using ReachProbe.Cli;

return await CommandLine.RunAsync(args, new OutputWriter(Console.Out), Console.Error);
