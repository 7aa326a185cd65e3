using LossKit.Cli;

return Cli.Run(args);
