using System.IO.Compression;
using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IdxArray SmallImages()
    {
        var data = new byte[3 * 2 * 4];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 11);
        return new IdxArray([3, 2, 4], data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ImagesRoundTrip(bool gzip)
    {
        var original = SmallImages();
        string path = _dir.File(gzip ? "img.gz" : "img");
        IdxWriter.Write(path, original, gzip);
        var back = IdxReader.ReadImages(path);
        Assert.Equal(original.Dimensions, back.Dimensions);
        Assert.Equal(original.Data, back.Data);
        Assert.Equal(3, back.Count);
        Assert.Equal(8, back.ItemSize);
        Assert.Equal(IdxArray.ImagesMagic, back.Magic);
    }

    [Fact]
    public void GzipIsDetectedByContentNotName()
    {
        string path = _dir.File("labels-without-gz-suffix");
        IdxWriter.Write(path, new IdxArray([5], [0, 1, 2, 3, 9]), gzip: true);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 9 }, IdxReader.ReadLabels(path).Data);
    }

    [Fact]
    public void WrittenHeaderIsBigEndian()
    {
        using var ms = new MemoryStream();
        IdxWriter.Write(ms, new IdxArray([258], new byte[258]), gzip: false);
        Assert.Equal(new byte[] { 0, 0, 8, 1, 0, 0, 1, 2 }, ms.ToArray()[..8]);
    }

    [Fact]
    public void BadMagicNamesFileAndValue()
    {
        string path = _dir.File("bad.idx");
        File.WriteAllBytes(path, [0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("bad magic number 0x12340803", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void LabelFileReadAsImagesIsAMagicMismatch()
    {
        string path = _dir.File("labels.idx");
        IdxWriter.Write(path, new IdxArray([2], [1, 2]), gzip: false);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("0x00000801", e.Message);
        Assert.Contains("expected 0x00000803", e.Message);
    }

    [Fact]
    public void UnsupportedElementTypeIsNamed()
    {
        string path = _dir.File("float.idx");
        File.WriteAllBytes(path, [0, 0, 0x0D, 0x01, 0, 0, 0, 1, 0, 0, 0, 0]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));
        Assert.Contains("float32", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedDataIsReportedWithCounts(bool gzip)
    {
        using var full = new MemoryStream();
        IdxWriter.Write(full, SmallImages(), gzip: false);
        byte[] cut = full.ToArray()[..^5]; // header 16 bytes + 19 of 24 data bytes
        string path = _dir.File("cut.idx");
        if (gzip)
        {
            using var f = File.Create(path);
            using var z = new GZipStream(f, CompressionLevel.Fastest);
            z.Write(cut);
        }
        else File.WriteAllBytes(path, cut);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("3×2×4 = 24 data bytes but only 19", e.Message);
    }

    [Fact]
    public void TruncatedHeaderIsReported()
    {
        string path = _dir.File("head.idx");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0, 0, 1, 0]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("truncated header", e.Message);
    }

    [Fact]
    public void TooShortForMagicIsTruncated()
    {
        string path = _dir.File("tiny.idx");
        File.WriteAllBytes(path, [0, 0]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TrailingBytesMeanWrongCounts()
    {
        using var full = new MemoryStream();
        IdxWriter.Write(full, new IdxArray([3], [1, 2, 3]), gzip: false);
        string path = _dir.File("long.idx");
        File.WriteAllBytes(path, [.. full.ToArray(), 7, 7]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("2 bytes beyond the 3 data bytes", e.Message);
    }

    [Fact]
    public void CorruptGzipIsReportedAsSuch()
    {
        using var ms = new MemoryStream();
        IdxWriter.Write(ms, SmallImages(), gzip: true);
        byte[] bytes = ms.ToArray();
        for (int i = 10; i < bytes.Length - 8; i++) bytes[i] ^= 0x5A; // damage the deflate body
        string path = _dir.File("damaged.gz");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        string path = _dir.File("nope.idx");
        var e = Assert.Throws<FileNotFoundException>(() => IdxReader.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ReadFromStreamLeavesStreamOpen()
    {
        using var ms = new MemoryStream();
        IdxWriter.Write(ms, new IdxArray([2, 2], [1, 2, 3, 4]), gzip: true);
        ms.Position = 0;
        var a = IdxReader.Read(ms, "memory");
        Assert.Equal(new[] { 2, 2 }, a.Dimensions);
        Assert.True(ms.CanRead);
    }

    [Fact]
    public void ArrayChecksDataLength()
    {
        Assert.Throws<ArgumentException>(() => new IdxArray([2, 3], new byte[5]));
    }
}
