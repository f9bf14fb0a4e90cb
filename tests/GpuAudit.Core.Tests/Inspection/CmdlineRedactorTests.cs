using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Tests.Inspection;

public class CmdlineRedactorTests
{
    [Fact]
    public void Pool_url_keeps_scheme_and_host_but_drops_user_and_password()
    {
        var redacted = CmdlineRedactor.Redact(["xmrig", "-o", "stratum+tcp://wallet123:s3cr3tpw@pool.example:3333"]);

        Assert.Equal("xmrig -o stratum+tcp://***@pool.example:3333", redacted);
    }

    [Fact]
    public void Credentials_in_ordinary_urls_are_removed()
    {
        Assert.Equal("git clone https://***@github.com/org/repo", CmdlineRedactor.Redact(["git", "clone", "https://alice:ghp_abc@github.com/org/repo"]));
    }

    [Theory]
    [InlineData("--password=hunter2", "--password=***")]
    [InlineData("--api-key=abc", "--api-key=***")]
    [InlineData("--hf-token=hf_123", "--hf-token=***")]
    [InlineData("WANDB_API_KEY=abc", "WANDB_API_KEY=***")]
    public void Secret_option_values_in_one_argument_are_masked(string argument, string expected)
    {
        Assert.Equal("python " + expected, CmdlineRedactor.Redact(["python", argument]));
    }

    [Fact]
    public void Secret_option_value_in_the_next_argument_is_masked()
    {
        Assert.Equal("train --token *** --lr 0.1", CmdlineRedactor.Redact(["train", "--token", "abc123", "--lr", "0.1"]));
    }

    [Fact]
    public void Miner_login_options_are_masked_only_on_miner_lines()
    {
        Assert.Equal("xmrig -u *** -p *** --donate-level 1", CmdlineRedactor.Redact(["xmrig", "-u", "44AFFq5k", "-p", "x", "--donate-level", "1"]));
        Assert.Equal("ssh -p 2222 user@host", CmdlineRedactor.Redact(["ssh", "-p", "2222", "user@host"]));
    }

    [Fact]
    public void Ordinary_command_lines_are_unchanged()
    {
        Assert.Equal("/opt/torch/.venv/bin/python3 /opt/jobs/main.py --epochs 3", CmdlineRedactor.Redact(["/opt/torch/.venv/bin/python3", "/opt/jobs/main.py", "--epochs", "3"]));
    }
}
