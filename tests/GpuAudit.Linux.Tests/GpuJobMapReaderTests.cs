namespace GpuAudit.Linux.Tests;

public sealed class GpuJobMapReaderTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("gpustat").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void One_file_per_gpu_maps_index_or_uuid_to_job_and_user()
    {
        File.WriteAllText(Path.Combine(directory, "0"), "777 1000\n");
        File.WriteAllText(Path.Combine(directory, "GPU-8f6c1a2b-0000-1111-2222-333344445555"), "778 0");
        File.WriteAllText(Path.Combine(directory, "2"), "   \n");

        var map = new GpuJobMapReader(directory, new PasswdFile(Fixtures.Passwd)).Read();

        Assert.Equal(2, map.Count);
        Assert.Equal(new JobRef("777", "gpu-map", "alice"), GpuJobMapReader.For(map, 0, "GPU-unmapped"));
        Assert.Equal(new JobRef("778", "gpu-map", "root"), GpuJobMapReader.For(map, 1, "GPU-8f6c1a2b-0000-1111-2222-333344445555"));
        Assert.Null(GpuJobMapReader.For(map, 2, null));
    }

    [Fact]
    public void Optional_fields_give_purpose_partition_and_account_and_bad_ones_are_left_out()
    {
        File.WriteAllText(Path.Combine(directory, "0"), "4242 1000 purpose=training partition=train account=lab\n");
        File.WriteAllText(Path.Combine(directory, "1"), "4343 1000 purpose=mining colour=blue account=\n");

        var map = new GpuJobMapReader(directory, new PasswdFile(Fixtures.Passwd)).Read();

        var job = map["0"];
        Assert.Equal((GpuAudit.Core.Policy.JobPurpose.Training, "train", "lab", true), (job.Purpose!.Value, job.Partition, job.Account, job.IsTrusted));
        Assert.Equal(new JobRef("4343", "gpu-map", "alice"), map["1"]);
    }

    [Fact]
    public void Unknown_uid_stays_numeric_and_missing_directory_is_an_empty_map()
    {
        File.WriteAllText(Path.Combine(directory, "3"), "9 4321");

        Assert.Equal("4321", new GpuJobMapReader(directory, new PasswdFile(Fixtures.Passwd)).Read()["3"].User);
        Assert.Empty(new GpuJobMapReader(Path.Combine(directory, "absent")).Read());
    }
}
