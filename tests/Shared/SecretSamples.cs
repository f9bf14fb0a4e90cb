namespace GpuAudit.Tests;

/// <summary>
/// Command lines holding a secret in each shape the redactor must remove (issue 12 item 3), with
/// the secret text that must never reach an output. Shared by the redactor's unit tests and the
/// hostile process-tree tests, which start live processes with these argvs.
/// </summary>
internal static class SecretSamples
{
    public const string PemBody = "MIIEpQIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2";

    public const string EthWallet = "0x52908400098527886E0F7030069857D2E4169EE7";

    public const string BtcWallet = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT";

    public const string XmrWallet = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

    public const string GithubToken = "ghp_R2d2C3po4Bb8Luke5Leia6Han7Chew8Yoda";

    public const string AwsKeyId = "AKIAQ3EGRZQHMRJ7WXYZ";

    public const string Jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNlY3JldA";

    /// <summary>(what, argv, secrets): argv[0] is the program the shape belongs to.</summary>
    public static IReadOnlyList<(string Shape, string[] Argv, string[] Secrets)> All { get; } =
    [
        ("url credentials", ["git", "clone", "https://alice:Pw1-urlcred@github.com/org/repo"], ["Pw1-urlcred", "alice:"]),
        ("--k=v", ["python3", "train.py", "--db-password=Pw2-eqopt"], ["Pw2-eqopt"]),
        ("--k v", ["python3", "train.py", "--api-token", "Pw3-spaceopt"], ["Pw3-spaceopt"]),
        ("-kV", ["mysql", "-uroot", "-pPw4attached", "db"], ["Pw4attached"]),
        ("-k V", ["sshpass", "-p", "Pw5-shortflag", "ssh", "host"], ["Pw5-shortflag"]),
        ("-Dk=v", ["java", "-Djavax.net.ssl.keyStorePassword=Pw6-dprop", "-jar", "app.jar"], ["Pw6-dprop"]),
        ("K=V", ["env", "HF_TOKEN=Pw7-envstyle", "python3", "x.py"], ["Pw7-envstyle"]),
        ("authorization header", ["curl", "-H", "Authorization: Bearer Pw8-bearer", "https://api.example/v1"], ["Pw8-bearer"]),
        ("query-string token", ["curl", "https://api.example/data?access_token=Pw9-query&page=2"], ["Pw9-query"]),
        ("AWS key id", ["python3", "upload.py", AwsKeyId], [AwsKeyId]),
        ("GitHub token", ["python3", "push.py", GithubToken], [GithubToken]),
        ("JWT", ["python3", "call.py", "--header", Jwt], [Jwt]),
        ("PEM block", ["python3", "sign.py", "-----BEGIN RSA PRIVATE KEY-----\n" + PemBody + "\n-----END RSA PRIVATE KEY-----\n"], [PemBody]),
        ("JSON key", ["python3", "run.py", "{\"api_key\": \"Pw14-json\", \"lr\": 0.1}"], ["Pw14-json"]),
        ("ETH wallet", ["python3", "payout.py", EthWallet], [EthWallet]),
        ("BTC wallet", ["python3", "payout.py", BtcWallet], [BtcWallet]),
        ("XMR wallet in a parent's --user", ["bash", "run-miner.sh", "--user", XmrWallet + ".rig1"], [XmrWallet]),
        (
            "ssh ProxyCommand, -J, -l",
            ["ssh", "-N", "-R", "9000:localhost:22", "-o", "ProxyCommand=sshpass -p Pw18-proxy ssh -W %h:%p jump", "-J", "Tok18jump@bastion", "-l", "Tok18login", "Tok18user@198.51.100.7"],
            ["Pw18-proxy", "Tok18jump", "Tok18login", "Tok18user"]
        ),
    ];
}
