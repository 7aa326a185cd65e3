using System.Buffers.Binary;
using System.IO.Compression;

namespace LossKit.Workbench.Data;

/// <summary>
/// An n-dimensional array of unsigned bytes as stored in an IDX file (the MNIST / Fashion-MNIST format).
/// <see cref="Data"/> is row-major over <see cref="Dimensions"/>, so for an image file of shape
/// <c>[count, rows, cols]</c> image <c>i</c> is the <c>rows*cols</c> bytes starting at <c>i*rows*cols</c>.
/// </summary>
public sealed class IdxArray
{
    /// <summary>The IDX type code for unsigned bytes, the only element type this library reads or writes.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Magic number of a 3-dimensional unsigned-byte file (images): 0x00000803.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of a 1-dimensional unsigned-byte file (labels): 0x00000801.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Creates an array after checking that <paramref name="data"/> has exactly the product of the dimensions bytes.</summary>
    public IdxArray(int[] dimensions, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        ArgumentNullException.ThrowIfNull(data);
        if (dimensions.Length is < 1 or > 255)
            throw new ArgumentException($"an IDX array has 1 to 255 dimensions, not {dimensions.Length}.", nameof(dimensions));
        long product = 1;
        for (int i = 0; i < dimensions.Length; i++)
        {
            if (dimensions[i] < 0)
                throw new ArgumentException($"dimension {i} is {dimensions[i]}; dimensions must be ≥ 0.", nameof(dimensions));
            product *= dimensions[i];
            if (product > Array.MaxLength)
                throw new ArgumentException($"dimensions [{string.Join(", ", dimensions)}] exceed the largest array .NET can hold.", nameof(dimensions));
        }
        if (data.Length != product)
            throw new ArgumentException(
                $"data has {data.Length} bytes but dimensions [{string.Join(", ", dimensions)}] need {product}.", nameof(data));
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>Size of each dimension, outermost first (big-endian 32-bit values in the file).</summary>
    public int[] Dimensions { get; }

    /// <summary>The elements, row-major.</summary>
    public byte[] Data { get; }

    /// <summary>Size of the first dimension: the number of items (images or labels).</summary>
    public int Count => Dimensions[0];

    /// <summary>Elements per item: the product of all dimensions but the first (1 for a label file).</summary>
    public int ItemSize
    {
        get
        {
            int size = 1;
            for (int i = 1; i < Dimensions.Length; i++) size *= Dimensions[i];
            return size;
        }
    }

    /// <summary>The magic number this array is written with: <c>0x0000_08_NN</c> with NN the dimension count.</summary>
    public int Magic => (UnsignedByteType << 8) | Dimensions.Length;

    /// <summary>Shape as text, e.g. <c>60000×28×28</c>.</summary>
    public string ShapeText => string.Join("×", Dimensions);
}

/// <summary>
/// Reads IDX files: a 4-byte magic number (two zero bytes, a type byte, a dimension-count byte), one big-endian
/// 32-bit size per dimension, then the elements. Only unsigned-byte data (type 0x08) is supported, which covers
/// MNIST and Fashion-MNIST images (magic 0x00000803) and labels (0x00000801). Gzip-compressed files are detected
/// by their first two bytes (1F 8B) and decompressed on the fly, whatever their name. The data length must match
/// the header exactly: short data (truncated) and extra bytes past the declared size are both errors.
/// Every error is an <see cref="InvalidDataException"/> (or <see cref="FileNotFoundException"/>) whose one-line
/// message names the file and what is wrong.
/// </summary>
public static class IdxReader
{
    /// <summary>Reads an unsigned-byte IDX file of any dimension count.</summary>
    public static IdxArray Read(string path) => ReadChecked(path, expectedMagic: null);

    /// <summary>Reads an image file: magic 0x00000803, shape <c>[count, rows, cols]</c>.</summary>
    public static IdxArray ReadImages(string path) => ReadChecked(path, IdxArray.ImagesMagic);

    /// <summary>Reads a label file: magic 0x00000801, shape <c>[count]</c>.</summary>
    public static IdxArray ReadLabels(string path) => ReadChecked(path, IdxArray.LabelsMagic);

    /// <summary>
    /// Reads an IDX array from a stream (gzip or plain; the stream is consumed but not disposed).
    /// <paramref name="sourceName"/> names the source in error messages. <paramref name="expectedMagic"/>, when given,
    /// must match the file's magic number.
    /// </summary>
    public static IdxArray Read(Stream stream, string sourceName, int? expectedMagic = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        // MaybeDecompress takes ownership; shield the caller's stream from being disposed.
        using var input = DataFiles.MaybeDecompress(new NonClosingStream(stream));
        try
        {
            return ReadCore(input, sourceName, expectedMagic);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(sourceName + ":", StringComparison.Ordinal))
        {
            // Thrown by GZipStream on a damaged compressed stream.
            throw new InvalidDataException($"{sourceName}: corrupt gzip data ({OneLine(e.Message)}).", e);
        }
    }

    private static IdxArray ReadChecked(string path, int? expectedMagic)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file not found: {path}", path);
        using var file = File.OpenRead(path);
        return Read(file, path, expectedMagic);
    }

    private static IdxArray ReadCore(Stream input, string source, int? expectedMagic)
    {
        Span<byte> magicBytes = stackalloc byte[4];
        int got = DataFiles.ReadUpTo(input, magicBytes);
        if (got < 4)
            throw new InvalidDataException($"{source}: truncated: {got} bytes, too short for the 4-byte IDX magic number.");
        int magic = BinaryPrimitives.ReadInt32BigEndian(magicBytes);
        string expectedText = expectedMagic is int em ? $"0x{em:X8}" : "0x000008NN (NN = dimension count)";
        if (magicBytes[0] != 0 || magicBytes[1] != 0)
            throw new InvalidDataException(
                $"{source}: bad magic number 0x{magic:X8}: not an IDX file (expected {expectedText}; an IDX file starts with two zero bytes).");
        if (magicBytes[2] != IdxArray.UnsignedByteType)
            throw new InvalidDataException(
                $"{source}: IDX element type 0x{magicBytes[2]:X2} ({TypeName(magicBytes[2])}) is not supported; only 0x08 (unsigned byte) is (magic 0x{magic:X8}, expected {expectedText}).");
        if (expectedMagic is int expected && magic != expected)
            throw new InvalidDataException(
                $"{source}: bad magic number 0x{magic:X8} ({magicBytes[3]} dimensions); expected 0x{expected:X8} ({expected & 0xFF} dimensions).");
        int rank = magicBytes[3];
        if (rank == 0)
            throw new InvalidDataException($"{source}: bad magic number 0x{magic:X8}: 0 dimensions.");

        var header = new byte[4 * rank];
        got = DataFiles.ReadUpTo(input, header);
        if (got < header.Length)
            throw new InvalidDataException(
                $"{source}: truncated header: {rank} dimension sizes need {header.Length} bytes after the magic number, only {got} present.");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4 * i));
            if (d > int.MaxValue)
                throw new InvalidDataException($"{source}: dimension {i} is {d}, too large (corrupt header).");
            dims[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength)
                throw new InvalidDataException(
                    $"{source}: header declares {string.Join("×", dims[..(i + 1)])}… elements, more than fit in memory (corrupt header).");
        }

        var data = new byte[count];
        got = DataFiles.ReadUpTo(input, data);
        if (got < count)
            throw new InvalidDataException(
                $"{source}: truncated: header declares {string.Join("×", dims)} = {count} data bytes but only {got} are present.");
        Span<byte> probe = stackalloc byte[4096];
        long extra = 0;
        int n;
        while ((n = input.Read(probe)) > 0) extra += n;
        if (extra > 0)
            throw new InvalidDataException(
                $"{source}: {extra} bytes beyond the {count} data bytes the header declares ({string.Join("×", dims)}); wrong counts or a corrupt file.");
        return new IdxArray(dims, data);
    }

    private static string TypeName(byte code) => code switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown type",
    };

    internal static string OneLine(string s) => s.Replace('\r', ' ').Replace('\n', ' ').Trim().TrimEnd('.');

    /// <summary>Forwards reads to an inner stream and never disposes it.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Writes unsigned-byte IDX files (plain or gzip), the inverse of <see cref="IdxReader"/>.</summary>
public static class IdxWriter
{
    /// <summary>Writes <paramref name="array"/> to <paramref name="path"/>, gzip-compressed when <paramref name="gzip"/> is true.</summary>
    public static void Write(string path, IdxArray array, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.Create(path);
        Write(file, array, gzip);
    }

    /// <summary>Writes <paramref name="array"/> to a stream (left open), gzip-compressed when <paramref name="gzip"/> is true.</summary>
    public static void Write(Stream stream, IdxArray array, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        if (gzip)
        {
            using var z = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
            WriteRaw(z, array);
        }
        else
        {
            WriteRaw(stream, array);
        }
    }

    private static void WriteRaw(Stream s, IdxArray array)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, array.Magic);
        s.Write(word);
        foreach (int d in array.Dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            s.Write(word);
        }
        s.Write(array.Data);
    }
}
