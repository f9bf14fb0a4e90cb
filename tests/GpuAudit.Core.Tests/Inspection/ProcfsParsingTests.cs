using System.Net;

namespace GpuAudit.Core.Tests.Inspection;

public class ProcfsParsingTests
{
    [Fact]
    public void Maps_lines_give_ranges_permissions_inode_and_paths_with_spaces()
    {
        var regions = MemoryRegion.ParseMaps(
            "7f0000000000-7f0000001000 r-xp 00002000 08:01 1234 /opt/lib/lib cuda.so\n"
            + "7f0000001000-7f0000003000 rw-p 00000000 00:00 0 \n"
            + "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n"
            + "garbage line\n");

        Assert.Equal(3, regions.Count);
        Assert.Equal("/opt/lib/lib cuda.so", regions[0].Path);
        Assert.True(regions[0].FileBacked);
        Assert.Equal(0x2000UL, regions[0].Offset);
        Assert.False(regions[1].FileBacked);
        Assert.Equal(0x2000UL, regions[1].Length);
        Assert.True(regions[2].Special);
        Assert.False(regions[2].Readable);
    }

    [Fact]
    public void Tcp_rows_decode_little_endian_addresses_ports_state_and_inode()
    {
        var sockets = TcpSocket.ParseTable(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            + "   0: 0100007F:B9F4 0100007F:0D05 01 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0 20 4 30 10 -1\n");

        var socket = Assert.Single(sockets);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 0xB9F4), socket.Local);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 3333), socket.Remote);
        Assert.Equal(TcpSocketState.Established, socket.State);
        Assert.Equal(51234UL, socket.Inode);
        Assert.Equal(1000, socket.Uid);
    }

    [Fact]
    public void Tcp6_rows_decode_v4_mapped_addresses_to_v4()
    {
        var socket = TcpSocket.TryParseRow("   1: 0000000000000000FFFF00000100000A:C350 0000000000000000FFFF00000200000A:115C 01 00000000:00000000 00:00000000 00000000     0        0 777 1");

        Assert.Equal(IPAddress.Parse("10.0.0.2"), socket!.Remote.Address);
        Assert.Equal(4444, socket.Remote.Port);
    }

    [Fact]
    public void Stat_comm_may_hold_parentheses_and_spaces()
    {
        var stat = ProcStat.TryParse("4242 (my (odd) name) S 4200 4242 4200 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 123456 1000000 100 18446744073709551615");

        Assert.Equal(new ProcStat(4242, "my (odd) name", 4200, 123456), stat);
    }

    [Fact]
    public void Status_uid_and_environ_slurm_job()
    {
        Assert.Equal(1000, ProcStat.RealUid("Name:\txmrig\nUid:\t1000\t1000\t1000\t1000\n"));
        Assert.Equal("555", ProcStat.SlurmJobId("HOME=/home/a\0SLURM_JOB_ID=555\0SLURM_JOB_USER=a\0"));
        Assert.Null(ProcStat.SlurmJobId("HOME=/home/a\0"));
    }
}
