using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;

namespace Dermag.Benchmarks;

/// <summary>
/// An in-process TCP proxy that adds a fixed one-way latency in both directions, to measure the database as an app
/// sees it across a network. It listens on 127.0.0.1 (any free port) and forwards each accepted connection to the
/// target. Every chunk read from either side is stamped on arrival and written to the other side at arrival + delay,
/// in order per direction; connections do not wait for each other.
/// </summary>
/// <remarks>
/// The proxy stands for a network, so it should cost the app and the database as little CPU as a network does, and
/// not wait for a CPU more than a network card does. Each direction of each connection has its own thread blocked in
/// <c>recv</c> (no thread-pool hops, no idle spinning: a chunk costs one wake-up to read it); one delay-line thread
/// sleeps precisely until the oldest chunk is due and sends it with a blocking <c>send</c> (loopback buffers are far
/// larger than anything the benchmark sends, so a send does not block on a slow reader). These threads run at nice
/// -10 where the process may raise priority (the kernel's own network work runs ahead of user threads too), and their
/// CPU is counted (<see cref="CpuMilliseconds"/>) so a benchmark can tell the proxy's cost from the app's.
/// </remarks>
internal sealed class LatencyProxy : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;
    private const int NetworkNice = -10;

    private readonly Socket _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly DelayLine _line;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly ThreadCpu _cpu = new();
    private readonly Thread _accepting;
    private volatile bool _stopped;
    private long _chunksUp;
    private long _chunksDown;

    private LatencyProxy(string targetHost, int targetPort, TimeSpan oneWayDelay)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        OneWayDelay = oneWayDelay;
        _line = new DelayLine(oneWayDelay, _cpu);
        _listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = new Thread(Accept) { IsBackground = true, Name = "latency-proxy accept" };
        _accepting.Start();
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

    /// <summary>Chunks read so far from the clients (up) and from the server (down); a request or a reply that fits one read is one chunk.</summary>
    public (long Up, long Down) Chunks => (Interlocked.Read(ref _chunksUp), Interlocked.Read(ref _chunksDown));

    /// <summary>CPU time the proxy's threads have used so far (Linux; 0 elsewhere).</summary>
    public double CpuMilliseconds => _cpu.TotalMilliseconds();

    /// <summary>How late the delay line released chunks (actual minus due), in µs, since the last call; and how many.</summary>
    public (long Chunks, double P50Micros, double P99Micros, double MaxMicros) TakeLateness() => _line.TakeLateness();

    private void Accept()
    {
        while (!_stopped)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }

            var server = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.NoDelay = true;
            try
            {
                server.Connect(_targetHost, _targetPort);
            }
            catch (SocketException)
            {
                // The target refused: the client sees the connection close.
                server.Dispose();
                client.Dispose();
                continue;
            }

            _sockets[client] = 0;
            _sockets[server] = 0;
            var ends = new Ends(client, server, this);
            StartPump(client, server, upstream: true, ends);
            StartPump(server, client, upstream: false, ends);
        }
    }

    private void StartPump(Socket from, Socket to, bool upstream, Ends ends) =>
        new Thread(() => Pump(from, to, upstream, ends)) { IsBackground = true, Name = upstream ? "latency-proxy up" : "latency-proxy down" }.Start();

    /// <summary>One direction: block in recv, stamp each chunk and hand it to the delay line, which writes it when due.</summary>
    private void Pump(Socket from, Socket to, bool upstream, Ends ends)
    {
        _cpu.Enter();
        PreciseSleep.PrepareThread(NetworkNice);
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                int read;
                try
                {
                    read = from.Receive(buffer, SocketFlags.None);
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    read = 0;
                }

                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                Interlocked.Increment(ref upstream ? ref _chunksUp : ref _chunksDown);
                _line.Schedule(new Chunk(from, to, buffer, read, ends));
            }

            // The end of the stream travels with the same delay, behind the last chunk.
            _line.Schedule(new Chunk(from, to, null, 0, ends));
        }
        finally
        {
            _cpu.Leave();
        }
    }

    private void Forget(Socket client, Socket server)
    {
        _sockets.TryRemove(client, out _);
        _sockets.TryRemove(server, out _);
        client.Dispose();
        server.Dispose();
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

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        _listener.Dispose();
        foreach (var socket in _sockets.Keys)
        {
            TryClose(socket);
        }

        _accepting.Join();
        _line.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Both sockets of a connection; disposed once both directions have delivered their end of stream.</summary>
    private sealed class Ends(Socket client, Socket server, LatencyProxy proxy)
    {
        private int _open = 2;

        public void OneClosed()
        {
            if (Interlocked.Decrement(ref _open) == 0)
            {
                proxy.Forget(client, server);
            }
        }
    }

    private sealed class Chunk(Socket from, Socket to, byte[]? buffer, int length, Ends ends)
    {
        public long Due { get; set; }

        /// <summary>Writes the chunk (or, for the end of the stream, shuts the other side's sending half). Runs on the delay-line thread.</summary>
        public void Deliver()
        {
            if (buffer is null)
            {
                try
                {
                    to.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    // Already closed.
                }

                ends.OneClosed();
                return;
            }

            try
            {
                var sent = 0;
                while (sent < length)
                {
                    sent += to.Send(buffer, sent, length - sent, SocketFlags.None);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // The other side is gone: stop reading this side too.
                TryClose(from);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>CPU time of the proxy's threads: live ones read from /proc/self/task, finished ones added up as they end.</summary>
    private sealed class ThreadCpu
    {
        private const double ClockTicksPerSecond = 100; // USER_HZ on Linux

        private readonly ConcurrentDictionary<int, byte> _live = new();
        private long _finishedTicks;

        public void Enter()
        {
            if (OperatingSystem.IsLinux())
            {
                _live[NativeMethods.gettid()] = 0;
            }
        }

        public void Leave()
        {
            if (OperatingSystem.IsLinux())
            {
                var tid = NativeMethods.gettid();
                Interlocked.Add(ref _finishedTicks, Ticks(tid));
                _live.TryRemove(tid, out _);
            }
        }

        public double TotalMilliseconds() =>
            (Interlocked.Read(ref _finishedTicks) + _live.Keys.Sum(Ticks)) * 1000.0 / ClockTicksPerSecond;

        private static long Ticks(int tid)
        {
            try
            {
                var text = File.ReadAllText($"/proc/self/task/{tid}/stat");
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return 0;
            }
        }
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

        private readonly ThreadCpu _cpu;

        public DelayLine(TimeSpan delay, ThreadCpu cpu)
        {
            _cpu = cpu;
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
            _cpu.Enter();
            try
            {
                Release();
            }
            finally
            {
                _cpu.Leave();
            }
        }

        private void Release()
        {
            PreciseSleep.PrepareThread(NetworkNice);
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

                    chunk.Deliver();
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

        private const int PrioProcess = 0;

        /// <summary>1 ns timer slack and, where allowed, the given nice value for the calling thread (Linux).</summary>
        public static void PrepareThread(int nice)
        {
            if (OperatingSystem.IsLinux())
            {
                _ = NativeMethods.prctl(PrSetTimerSlack, 1, 0, 0, 0);
                _ = NativeMethods.setpriority(PrioProcess, (uint)NativeMethods.gettid(), nice);
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

        [DllImport("libc")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int gettid();

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int setpriority(int which, uint who, int prio);
    }
}
