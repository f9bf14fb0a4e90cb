using System.Globalization;

namespace GpuAudit.Linux;

/// <summary>Maps uids to user names from an /etc/passwd-format file (read once, lazily).</summary>
public sealed class PasswdFile(string path = PasswdFile.DefaultPath)
{
    public const string DefaultPath = "/etc/passwd";

    private readonly Lazy<Dictionary<int, string>> names = new(() => Load(path));

    public string? Name(int uid) => names.Value.GetValueOrDefault(uid);

    private static Dictionary<int, string> Load(string path)
    {
        var map = new Dictionary<int, string>();
        if (!File.Exists(path))
        {
            return map;
        }

#pragma warning disable RS0030 // /etc/passwd is root's file, not a watched process's; read once, lazily
        foreach (var line in File.ReadLines(path))
#pragma warning restore RS0030
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                map.TryAdd(uid, fields[0]);
            }
        }

        return map;
    }
}
