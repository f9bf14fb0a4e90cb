namespace GpuAudit.Linux.Tests;

/// <summary>The text and JSON forms of an inspection of the fixture miner, against golden files.</summary>
public class InspectionOutputTests
{

    private static ProcessInsight MinerInspection() =>
        new ProcessInspector(Fixtures.ProcRoot, new InspectorOptions
        {
            PasswdPath = Fixtures.Passwd,
            EgressAllowlist = InspectorOptions.ParseAllowlist(["10.0.0.0/8"]),
        }).Inspect(Fixtures.MinerPid)!;

    [Fact]
    public void Text_output_matches_the_golden_file()
    {
        using var text = new StringWriter { NewLine = "\n" };

        ProcessInspectionText.Write(text, MinerInspection(), scan: null);

        AssertGolden("inspect-miner.txt", text.ToString());
    }

    [Fact]
    public void Json_output_matches_the_golden_file()
    {
        AssertGolden("inspect-miner.json", ProcessInspectionJson.ToJson(MinerInspection(), scan: null).ReplaceLineEndings("\n") + "\n");
    }

    private static void AssertGolden(string name, string actual) =>
        Golden.AssertMatches(Path.Combine("tests", "GpuAudit.Linux.Tests", "Golden", name), actual);
}
