using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Npgsql;

namespace Dermag.Benchmarks;

/// <summary>
/// An in-process TCP proxy that adds a fixed one-way latency in both directions, to measure the database as an app
/// sees it across a network. It listens on 127.0.0.1 (any free port) and forwards each accepted connection to the
/// target. Every chunk read from either side is stamped on arrival and written to the other side at arrival + delay,
/// in order per direction; connections do not wait for each other. One delay-line thread per proxy releases the
/// chunks: it blocks while nothing is in flight and sleeps precisely (nanosleep with a 1 ns timer slack on Linux,
/// then a short spin) until the oldest chunk is due, so the proxy does not burn a core per connection.
/// </summary>
internal sealed class LatencyProxy : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;

    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly DelayLine _line;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly Task _accepting;

    private LatencyProxy(string targetHost, int targetPort, TimeSpan oneWayDelay)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        OneWayDelay = oneWayDelay;
        _line = new DelayLine(oneWayDelay);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public TimeSpan OneWayDelay { get; }

    /// <summary>A proxy in front of the server of <paramref name="connectionString"/> (TCP only).</summary>
    public static LatencyProxy Start(string connectionString, TimeSpan oneWayDelay)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var host = builder.Host ?? throw new ArgumentException("the connection string names no host", nameof(connectionString));
        if (host.Contains(',', StringComparison.Ordinal) || host.StartsWith('/'))
        {
            throw new ArgumentException($"the latency proxy needs one TCP host, not '{host}'", nameof(connectionString));
        }

        return new LatencyProxy(host, builder.Port, oneWayDelay);
    }

    /// <summary><paramref name="connectionString"/> with host and port pointing at this proxy.</summary>
    public string Route(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    /// <summary>How late the delay line released chunks (actual minus due), in µs, since the last call; and how many.</summary>
    public (long Chunks, double P50Micros, double P99Micros, double MaxMicros) TakeLateness() => _line.TakeLateness();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ConnectAsync(client));
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        using var server = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        _sockets[client] = 0;
        _sockets[server] = 0;
        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The target refused, or the proxy stopped: the client sees the connection close.
        }
        finally
        {
            _sockets.TryRemove(client, out _);
            _sockets.TryRemove(server, out _);
            client.Dispose();
        }
    }

    /// <summary>One direction: read chunks as they come, hand each to the delay line, write them in order when released.</summary>
    private async Task PumpAsync(Socket from, Socket to)
    {
        var inFlight = Channel.CreateUnbounded<Chunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writing = WriteAsync(inFlight.Reader, from, to);
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                int read;
                try
                {
                    read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    read = 0;
                }

                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                var chunk = new Chunk(buffer, read);
                _line.Schedule(chunk);
                inFlight.Writer.TryWrite(chunk);
            }
        }
        finally
        {
            // The end of the stream travels with the same delay, behind the last chunk.
            var end = new Chunk(null, 0);
            _line.Schedule(end);
            inFlight.Writer.TryWrite(end);
            inFlight.Writer.Complete();
        }

        await writing;
    }

    private static async Task WriteAsync(ChannelReader<Chunk> inFlight, Socket from, Socket to)
    {
        var broken = false;
        await foreach (var chunk in inFlight.ReadAllAsync())
        {
            // Released by the delay line; this continuation then usually runs on its thread, so the write goes out at once.
            await chunk.Released;
            if (chunk.Buffer is null)
            {
                break;
            }

            try
            {
                if (!broken)
                {
                    var sent = 0;
                    while (sent < chunk.Length)
                    {
                        sent += await to.SendAsync(chunk.Buffer.AsMemory(sent, chunk.Length - sent), SocketFlags.None);
                    }
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // The other side is gone: stop reading this side too, drain what is in flight.
                broken = true;
                TryClose(from);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }
        }

        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // Already closed.
        }
    }

    private static void TryClose(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // Already closed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var socket in _sockets.Keys)
        {
            TryClose(socket);
        }

        await _accepting;
        _line.Dispose();
        _stop.Dispose();
    }

    private sealed class Chunk(byte[]? buffer, int length)
    {
        private readonly TaskCompletionSource _released = new();

        public byte[]? Buffer { get; } = buffer;

        public int Length { get; } = length;

        public long Due { get; set; }

        public Task Released => _released.Task;

        /// <summary>Runs the waiting writer's continuation on the calling (delay-line) thread: no thread-pool hop.</summary>
        public void Release() => _released.TrySetResult();
    }

    /// <summary>
    /// Releases chunks at arrival + delay. With one fixed delay, due times are in arrival order, so a FIFO queue is
    /// enough: the thread waits for the head, releases everything due, and blocks when the queue is empty.
    /// </summary>
    private sealed class DelayLine : IDisposable
    {
        private const int HistogramMicros = 100_000;

        private readonly Queue<Chunk> _queue = new();
        private readonly object _gate = new();
        private readonly long _delayTicks;
        private readonly Thread _thread;
        private readonly long[] _latenessHistogram = new long[HistogramMicros + 1];
        private bool _stopped;

        public DelayLine(TimeSpan delay)
        {
            _delayTicks = (long)(delay.TotalSeconds * Stopwatch.Frequency);
            _thread = new Thread(Run) { IsBackground = true, Name = "latency-proxy delay line" };
            _thread.Start();
        }

        public void Schedule(Chunk chunk)
        {
            lock (_gate)
            {
                chunk.Due = Stopwatch.GetTimestamp() + _delayTicks;
                _queue.Enqueue(chunk);
                if (_queue.Count == 1)
                {
                    Monitor.Pulse(_gate);
                }
            }
        }

        public (long Chunks, double P50Micros, double P99Micros, double MaxMicros) TakeLateness()
        {
            lock (_latenessHistogram)
            {
                var total = _latenessHistogram.Sum();
                double p50 = -1, p99 = -1, max = 0;
                long seen = 0;
                for (var micros = 0; micros < _latenessHistogram.Length; micros++)
                {
                    if (_latenessHistogram[micros] == 0)
                    {
                        continue;
                    }

                    seen += _latenessHistogram[micros];
                    if (p50 < 0 && seen >= total * 0.5)
                    {
                        p50 = micros;
                    }

                    if (p99 < 0 && seen >= total * 0.99)
                    {
                        p99 = micros;
                    }

                    max = micros;
                }

                Array.Clear(_latenessHistogram);
                return (total, Math.Max(p50, 0), Math.Max(p99, 0), max);
            }
        }

        private void Run()
        {
            PreciseSleep.PrepareThread();
            while (true)
            {
                long due;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_stopped)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_stopped)
                    {
                        return;
                    }

                    due = _queue.Peek().Due;
                }

                PreciseSleep.Until(due);
                while (true)
                {
                    Chunk chunk;
                    var now = Stopwatch.GetTimestamp();
                    lock (_gate)
                    {
                        if (_queue.Count == 0 || _queue.Peek().Due > now)
                        {
                            break;
                        }

                        chunk = _queue.Dequeue();
                    }

                    var lateMicros = (long)((now - chunk.Due) * 1_000_000.0 / Stopwatch.Frequency);
                    lock (_latenessHistogram)
                    {
                        _latenessHistogram[Math.Clamp(lateMicros, 0, HistogramMicros)]++;
                    }

                    chunk.Release();
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.Pulse(_gate);
            }

            _thread.Join();
        }
    }

    /// <summary>
    /// Waits until a <see cref="Stopwatch"/> timestamp without burning a core: on Linux nanosleep (the thread's timer
    /// slack set to 1 ns, instead of the default 50 µs) for all but the last <see cref="SpinMicros"/>, which it spins;
    /// elsewhere Thread.Sleep for whole milliseconds and a spin for the rest.
    /// </summary>
    private static class PreciseSleep
    {
        private const int SpinMicros = 20;
        private const int PrSetTimerSlack = 29;

        public static void PrepareThread()
        {
            if (OperatingSystem.IsLinux())
            {
                _ = NativeMethods.prctl(PrSetTimerSlack, 1, 0, 0, 0);
            }
        }

        public static void Until(long due)
        {
            var spinTicks = Stopwatch.Frequency * SpinMicros / 1_000_000;
            while (true)
            {
                var remaining = due - Stopwatch.GetTimestamp();
                if (remaining <= spinTicks)
                {
                    break;
                }

                var sleepTicks = remaining - spinTicks;
                if (OperatingSystem.IsLinux())
                {
                    var nanos = (long)(sleepTicks * (1_000_000_000.0 / Stopwatch.Frequency));
                    var request = new NativeMethods.Timespec { Seconds = nanos / 1_000_000_000, Nanoseconds = nanos % 1_000_000_000 };
                    _ = NativeMethods.nanosleep(ref request, IntPtr.Zero);
                }
                else if (sleepTicks > Stopwatch.Frequency / 500)
                {
                    Thread.Sleep((int)(sleepTicks * 1000 / Stopwatch.Frequency) - 1);
                }
                else
                {
                    break;
                }
            }

            var spin = default(SpinWait);
            while (Stopwatch.GetTimestamp() < due)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    private static class NativeMethods
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int nanosleep(ref Timespec request, IntPtr remaining);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
    }
}
