using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace LossKit.Workbench.Training;

/// <summary>
/// What a seed fixed for a run, as 16-hex-digit hashes (the first 8 bytes of a SHA-256): the split's row indices, the
/// training labels after noise, the validation labels (after noise when they receive it), the initial parameters and
/// the first epoch's minibatch order (later epochs continue the same stream). Runs of different losses with the same
/// seed and scenario have equal fingerprints; the paired comparison checks this before it pairs them.
/// </summary>
/// <param name="Split">Row indices of the train, validation and test splits.</param>
/// <param name="TrainLabels">Training labels as trained on.</param>
/// <param name="ValidationLabels">Validation labels as used for model selection and temperature scaling.</param>
/// <param name="Init">Initial parameters of the model, bit for bit.</param>
/// <param name="Order">Row order of the first epoch's minibatches.</param>
public sealed record Fingerprint(string Split, string TrainLabels, string ValidationLabels, string Init, string Order)
{
    /// <summary>The hash of one or more integer arrays, each prefixed by its length.</summary>
    public static string Of(params int[][] arrays)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var a in arrays)
        {
            h.AppendData(BitConverter.GetBytes(a.Length));
            h.AppendData(MemoryMarshal.AsBytes(a.AsSpan()));
        }
        return Convert.ToHexStringLower(h.GetHashAndReset())[..16];
    }

    /// <summary>The hash of a float array's bits.</summary>
    public static string Of(float[] values)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(BitConverter.GetBytes(values.Length));
        h.AppendData(MemoryMarshal.AsBytes(values.AsSpan()));
        return Convert.ToHexStringLower(h.GetHashAndReset())[..16];
    }
}
