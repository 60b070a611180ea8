// Test helper: a throw-away configuration directory under the system temp dir, removed on
// Dispose. Used by the Config tests to write main.cf / master.cf files. Test-only, trusted.
namespace Postfix.Tests.Config;

internal sealed class TempConfigDir : IDisposable
{
    public TempConfigDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "postfix-config-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string MainCfPath => System.IO.Path.Combine(Path, "main.cf");

    public string MasterCfPath => System.IO.Path.Combine(Path, "master.cf");

    public TempConfigDir WithMainCf(string text)
    {
        File.WriteAllText(MainCfPath, text);
        return this;
    }

    public TempConfigDir WithMasterCf(string text)
    {
        File.WriteAllText(MasterCfPath, text);
        return this;
    }

    public string WriteFile(string name, string text)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
