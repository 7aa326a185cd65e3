

namespace LossKit.Core;

/// <summary>An argument error found at a particular row (for example a soft-target row that does not sum to 1).</summary>
public sealed class RowException(string paramName, int row, string message) : ArgumentException(message, paramName)
{
    /// <summary>The zero-based row the error is about.</summary>
    public int Row { get; } = row;
}
