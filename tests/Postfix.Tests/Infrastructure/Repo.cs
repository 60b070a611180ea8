// Locates the repository (for the ./postfix launcher) and runs commands the way
// an operator would: as processes, with a bounded wait.
using System.Diagnostics;

namespace Postfix.Tests.Infrastructure;

public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Launcher => Path.Combine(Root, "postfix");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Postfix.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Postfix.sln not found above " + AppContext.BaseDirectory);
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs a program to completion (killed after <paramref name="timeout"/>).</summary>
    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null,
        string? stdin = null, IDictionary<string, string?>? env = null, string? workDir = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin != null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return new Result(p.ExitCode, await so, await se);
    }

    public static Task<Result> PostfixAsync(params string[] args) => RunAsync(Launcher, args);

    /// <summary>Polls <paramref name="condition"/> until true or the bound passes.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan bound, int pollMs = 50)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < bound)
        {
            if (condition()) return true;
            await Task.Delay(pollMs);
        }
        return condition();
    }

    public static bool HasCommand(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin")
            .Any(d => File.Exists(Path.Combine(d, name)));

    public static string Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/usr/bin")
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is not installed (run scripts/install-test-deps.sh)");
}
