using LossKit.Embedding;

namespace LossKit.Tests.Embedding;

/// <summary>The per-thread arrays of exact lengths the embedding losses take their scratch from.</summary>
public class ExactArraysTests
{
    [Fact]
    public void A_returned_array_is_rented_again_for_its_length_only()
    {
        double[] first = ExactArrays<double>.Rent(1237);
        Assert.Equal(1237, first.Length);
        ExactArrays<double>.Return(first);
        double[] other = ExactArrays<double>.Rent(1238);
        Assert.Equal(1238, other.Length);
        Assert.NotSame(first, other);
        Assert.Same(first, ExactArrays<double>.Rent(1237));
        Assert.NotSame(first, ExactArrays<double>.Rent(1237));   // rented once: not handed out twice
    }

    [Fact]
    public void At_most_Kept_arrays_are_kept_and_the_least_recently_returned_goes_first()
    {
        var arrays = Enumerable.Range(0, ExactArrays<int>.Kept + 1).Select(i => ExactArrays<int>.Rent(5000 + i)).ToArray();
        foreach (int[] a in arrays) ExactArrays<int>.Return(a);
        Assert.NotSame(arrays[0], ExactArrays<int>.Rent(5000));   // dropped for the last one
        for (int i = 1; i < arrays.Length; i++) Assert.Same(arrays[i], ExactArrays<int>.Rent(5000 + i));
    }

    [Fact]
    public void No_more_than_KeptBytes_are_kept_per_thread()
    {
        // On a thread of its own, so that what it keeps goes with the thread (the arrays are never touched: uninitialised,
        // their pages are not committed).
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                int half = (int)(ExactArrays<byte>.KeptBytes / 2);
                byte[] first = ExactArrays<byte>.Rent(half - 1), second = ExactArrays<byte>.Rent(half - 2), third = ExactArrays<byte>.Rent(half - 3);
                ExactArrays<byte>.Return(first);
                ExactArrays<byte>.Return(second);
                ExactArrays<byte>.Return(third);   // the three together are more than KeptBytes: the first is dropped
                Assert.NotSame(first, ExactArrays<byte>.Rent(half - 1));
                Assert.Same(second, ExactArrays<byte>.Rent(half - 2));
                Assert.Same(third, ExactArrays<byte>.Rent(half - 3));
            }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
    }

    [Fact]
    public void Empty_arrays_are_never_kept() =>
        Assert.Empty(ExactArrays<float>.Rent(0));

    [Fact]
    public void Pooled_scratch_has_the_exact_length_and_is_cleared_when_asked()
    {
        using (var dirty = Pooled<long>.Of(777)) dirty.Span.Fill(9);
        using var clean = Pooled<long>.Of(777, clear: true);
        Assert.Equal(777, clean.Values.Length);
        Assert.All(clean.Values, v => Assert.Equal(0, v));
    }
}
