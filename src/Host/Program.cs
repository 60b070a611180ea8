// The one launcher: postfix(1)'s verbs (start-fg, start, stop, reload, status,
// check, flush, and our drain) and Postfix's other programs as subcommands (postqueue,
// postconf, ...), each with its own flags. The config directory is -c DIR or
// $MAIL_CONFIG, as in Postfix; with neither the embedded defaults serve.
// Exit codes: 0 ok, 1 operational failure, 2 usage error.
using Postfix.Host.Commands;

namespace Postfix.Host;

public static class Program
{
    public const string Usage = """
        usage: postfix [-c config_dir] [-v] command [args]
          start-fg    run the mail system in the foreground (logs to stdout)
          start       start the mail system in the background
          stop        stop the mail system (after committing the queue)
          reload      re-read main.cf, master.cf and tables; keep sessions
          status      tell whether the mail system is running
          check       validate the configuration
          flush       retry deferred mail now
          drain       (ours) stop accepting mail, deliver or hand every queued message to a
                      peer node (cluster_store or cluster_drain_peers), then stop; waits up
                      to cluster_drain_timeout
        subcommands (Postfix's programs, with their own flags):
          postqueue -p | -j | -f | -n list (mailq) / JSON / flush / count the queue
          postqueue -i ID | -s site   retry one deferred message / a site's deferred mail now
          postqueue -C [-p | -j]      (ours) every node's queue counts from cluster_store, with totals
          qshape [-s] [-p] [-m min] [-b buckets] [-t minutes] [-l] [-w width] [queue ...]
                                      queue shape: messages per domain and age
          qshape -C [-p] [-m min] [-w width] [queue ...]  (ours) the shape summed over the cluster's nodes
          postsuper -d ID|ALL|- | -h ID|ALL|- | -H ID|ALL|- | -r ID|ALL|- [queue ...]
                                      delete / hold / release from hold / requeue
          postcat [-b] [-e] [-h] -q ID ...  show queued messages (body, envelope, header)
          postalias [-f] [-q key] [hash:]file ... | newaliases   compile aliases(5) files
          explain [-f sender] address ...  show each rewriting and routing step for an address
          sendmail [-t] [-i] [-f sender] [-bp | -bv] [recipient ...]
                                      submit a message from standard input (via maildrop/pickup)
          postconf [-n | -d] [-hx] [name ...]  show parameters
          postconf -e name=value ... | -X name ... | -# name ...  edit main.cf
          postmap [-fiprsvw] [-q key|-] [-d key|-] [type:]file ...  build/query lookup tables
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await RunAsync(args, Console.Out, Console.Error);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"postfix: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (Core.Tables.TableLookupException e)
        {
            // A subcommand whose table could not answer (e.g. explain with a redis: store down).
            Console.Error.WriteLine($"postfix: fatal: {e.Message}");
            return 1;
        }
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? configDir = Environment.GetEnvironmentVariable("MAIL_CONFIG");
        if (string.IsNullOrEmpty(configDir)) configDir = null;
        int i = 0;
        for (; i < args.Length && args[i].StartsWith('-'); i++)
        {
            switch (args[i])
            {
                case "-c":
                    if (++i >= args.Length) throw new UsageException("option -c requires a directory");
                    configDir = args[i];
                    break;
                case "-v": break;
                case "-h" or "--help": stdout.WriteLine(Usage); return 0;
                default: throw new UsageException($"invalid option -- '{args[i].TrimStart('-')}'");
            }
        }
        if (i >= args.Length) throw new UsageException("missing command");
        if (configDir is not null && !Directory.Exists(configDir))
        {
            stderr.WriteLine($"postfix: fatal: config directory {configDir}: No such file or directory");
            return 1;
        }
        var verb = args[i];
        var rest = args[(i + 1)..];
        // Table types outside Core, for the daemon and every subcommand (Postfix's dict_open_register()).
        Cluster.RedisTable.Register(configDir);
        return verb switch
        {
            "start-fg" => await NoArgs(rest, () => Master.MasterDaemon.RunAsync(configDir, stderr)),
            "start" => await NoArgs(rest, () => PostfixControl.StartAsync(configDir, stdout, stderr)),
            "stop" => await NoArgs(rest, () => PostfixControl.StopAsync(configDir, stdout, stderr)),
            "reload" => await NoArgs(rest, () => PostfixControl.ReloadAsync(configDir, stdout, stderr)),
            "status" => await NoArgs(rest, () => PostfixControl.StatusAsync(configDir, stdout, stderr)),
            "check" => await NoArgs(rest, () => PostfixControl.CheckAsync(configDir, stdout, stderr)),
            "flush" => await NoArgs(rest, () => PostqueueCommand.RunAsync(["-f"], configDir, stdout, stderr)),
            "drain" => await NoArgs(rest, () => DrainCommand.RunAsync(configDir, stderr)),
            "postqueue" or "mailq" => await PostqueueCommand.RunAsync(verb == "mailq" ? ["-p", .. rest] : rest, configDir, stdout, stderr),
            "postsuper" => await PostsuperCommand.RunAsync(rest, configDir, Console.In, stderr),
            "postcat" => await PostcatCommand.RunAsync(rest, configDir, stdout, stderr),
            "qshape" => await QshapeCommand.RunAsync(rest, configDir, stdout, stderr,
                terminal: ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected),
            "postconf" => PostconfCommand.Run(rest, configDir, stdout, stderr),
            "explain" => ExplainCommand.Run(rest, configDir, stdout, stderr),
            "sendmail" => await SendmailCommand.RunAsync(rest, configDir, Console.OpenStandardInput(), stdout, stderr),
            "postmap" => PostmapCommand.Run(rest, configDir, Console.OpenStandardInput(), stdout, stderr),
            "postalias" or "newaliases" => PostaliasCommand.Run(verb, rest, configDir, stdout, stderr),
            _ => throw new UsageException($"unknown command: '{verb}'"),
        };
    }

    private static Task<int> NoArgs(string[] rest, Func<Task<int>> run)
    {
        if (rest.Length > 0) throw new UsageException($"unexpected argument '{rest[0]}'");
        return run();
    }
}

public sealed class UsageException(string message) : Exception(message);
