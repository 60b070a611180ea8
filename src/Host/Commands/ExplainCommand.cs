// explain ADDRESS (ours; no Postfix program has it): shows every step a
// recipient goes through, with the table and key that matched at each step:
// trivial-rewrite's canonical form, cleanup's canonical / virtual alias / bcc
// maps and duplicate filter, then for each final recipient its address class
// and transport:nexthop, and for local recipients the aliases(5) lookup and
// luser_relay. It reads the configuration like the daemons do (-c DIR or
// MAIL_CONFIG) and touches no queue. Usage: explain [-f sender] address ...
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;
using Postfix.Core.Tables;
using Postfix.Host.Master;

namespace Postfix.Host.Commands;

public static class ExplainCommand
{
    public static int Run(string[] args, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        string sender = "";
        var addresses = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "-f")
            {
                if (++i >= args.Length) throw new UsageException("explain: -f requires a sender address");
                sender = args[i];
            }
            else if (args[i].StartsWith('-') && args[i].Length > 1) throw new UsageException($"explain: invalid option '{args[i]}'");
            else addresses.Add(args[i]);
        }
        if (addresses.Count == 0) throw new UsageException("explain: give one or more addresses");
        MasterConfig cfg;
        try { cfg = MasterConfig.Load(configDir); }
        catch (ConfigException e) { stderr.WriteLine($"explain: fatal: {e.Message}"); return 1; }

        var s = cfg.Settings;
        var resolver = cfg.Resolver;
        var maps = cfg.CleanupMaps;
        foreach (var input in addresses)
        {
            stdout.WriteLine($"explain <{input}>");
            var canonical = cfg.CanonicalForm.Rewrite(input.Trim('<', '>'));
            int n = 1;
            if (canonical != input.Trim('<', '>'))
                stdout.WriteLine($"  {n++}. trivial-rewrite: canonical form (append_at_myorigin, append_dot_mydomain) -> {canonical}");
            List<CleanupMaps.Recipient> final;
            if (maps is null)
            {
                stdout.WriteLine($"  {n++}. cleanup: no canonical, virtual alias or bcc maps configured");
                final = [new CleanupMaps.Recipient(canonical, "", DsnNotify.None)];
            }
            else
            {
                var trace = new List<string>();
                var senderAddress = cfg.CanonicalForm.Rewrite(sender);
                (_, final, var warnings) = maps.Apply(senderAddress, [new CleanupMaps.Recipient(canonical, "", DsnNotify.None)], trace);
                if (trace.Count == 0) stdout.WriteLine($"  {n++}. cleanup: no canonical, virtual alias or bcc map matched");
                foreach (var t in trace) stdout.WriteLine($"  {n++}. cleanup: {t}");
                foreach (var w in warnings) stdout.WriteLine($"  {n++}. cleanup: warning: {w}");
            }
            stdout.WriteLine($"  {n++}. final recipients: {string.Join(", ", final.Select(r => r.Address))}");
            foreach (var r in final)
            {
                var res = resolver.Resolve(r.Address);
                bool deferred = cfg.DeferTransports.Contains(res.Transport);
                stdout.WriteLine($"  {n++}. trivial-rewrite: <{r.Address}>: address class {ClassName(res.Class)}, {res.Destination}"
                    + (deferred ? " (held: transport in defer_transports)" : ""));
                if (res.Class == AddressClass.Local) ExplainLocal(cfg, r.Address, stdout, ref n);
            }
        }
        return 0;
    }

    private static string ClassName(AddressClass c) => c switch
    {
        AddressClass.Local => "local",
        AddressClass.VirtualAlias => "virtual alias",
        AddressClass.VirtualMailbox => "virtual mailbox",
        AddressClass.Relay => "relay",
        _ => "default",
    };

    /// <summary>local(8)'s first steps: the aliases(5) key and luser_relay.</summary>
    private static void ExplainLocal(MasterConfig cfg, string address, TextWriter stdout, ref int n)
    {
        int at = address.LastIndexOf('@');
        var local = (at < 0 ? address : address[..at]).ToLowerInvariant();
        var aliases = LookupTables.OpenList(cfg.Main.Get("alias_maps"), cfg.Main.ConfigDirectory);
        if (aliases?.Invoke(local) is { } value)
        {
            stdout.WriteLine($"  {n++}. local: alias_maps key \"{local}\" -> {value}");
            return;
        }
        stdout.WriteLine($"  {n++}. local: alias_maps: no entry for \"{local}\"");
        var luser = cfg.Main.IsDefined("luser_relay") ? cfg.Main.Get("luser_relay") : "";
        stdout.WriteLine(luser.Length > 0
            ? $"  {n++}. local: if \"{local}\" is not a local user, luser_relay = {luser}"
            : $"  {n++}. local: delivered to the mailbox of user \"{local}\" (bounced if there is no such user)");
    }
}
