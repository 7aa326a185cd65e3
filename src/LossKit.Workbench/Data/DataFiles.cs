using System.IO.Compression;

namespace LossKit.Workbench.Data;

/// <summary>Opening data files that may or may not be gzip-compressed, and reading them whole.</summary>
internal static class DataFiles
{
    /// <summary>
    /// Wraps <paramref name="raw"/> in a <see cref="GZipStream"/> when it starts with the gzip magic bytes 1F 8B,
    /// whatever the file is called; otherwise returns a stream over the plain bytes. A stream that cannot seek is
    /// copied into memory first. The returned stream owns <paramref name="raw"/>.
    /// </summary>
    public static Stream MaybeDecompress(Stream raw)
    {
        Stream seekable = raw;
        if (!raw.CanSeek)
        {
            var copy = new MemoryStream();
            raw.CopyTo(copy);
            raw.Dispose();
            copy.Position = 0;
            seekable = copy;
        }
        Span<byte> head = stackalloc byte[2];
        int n = ReadUpTo(seekable, head);
        seekable.Seek(-n, SeekOrigin.Current);
        bool gzip = n == 2 && head[0] == 0x1F && head[1] == 0x8B;
        return gzip ? new GZipStream(seekable, CompressionMode.Decompress, leaveOpen: false) : seekable;
    }

    /// <summary>Opens a file for reading, decompressing it when it is gzip. Throws <see cref="FileNotFoundException"/> with a one-line message when missing.</summary>
    public static Stream Open(string path, string? howToGet = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"data file not found: {path}" + (howToGet is null ? "" : $" ({howToGet})"), path);
        return MaybeDecompress(File.OpenRead(path));
    }

    /// <summary>Reads as many bytes as are available, up to the span's length; returns the count read.</summary>
    public static int ReadUpTo(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
