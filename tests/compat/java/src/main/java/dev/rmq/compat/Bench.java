package dev.rmq.compat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * Load for bench/e2e/broker_throughput.py and compare.py, shaped like rocketmq-example's
 * benchmark Producer and Consumer (Maven Central has those only as 4.7.0; compare.py runs them
 * too) but measuring p99 and process CPU: one producer shared by THREADS
 * threads sending synchronously, then a push consumer reading everything back.
 *
 * <pre>
 * produce NS TOPIC THREADS SIZE SECONDS WARMUP   prints RESULT sent tps avgRtMs p99RtMs maxRtMs errors stored
 *                                                (TOPIC%N: round robin over TOPIC-0 .. TOPIC-(N-1))
 * consume NS TOPIC GROUP EXPECTED SECONDS [SQL]   prints RESULT received tps (SQL: MessageSelector.bySql)
 * tx NS TOPIC THREADS SIZE SECONDS WARMUP        TransactionMQProducer committing every message, as
 *                                                rocketmq-example's TransactionProducer does by default;
 *                                                prints RESULT sent tps avgRtMs p99RtMs maxRtMs errors stored
 * produceasync NS TOPIC INFLIGHT SIZE SECONDS WARMUP  async sends, at most INFLIGHT unanswered;
 *                                                prints RESULT sent tps errors
 * producebatch NS TOPIC THREADS SIZE BATCH SECONDS WARMUP  sync batch sends of BATCH messages;
 *                                                prints RESULT sent tps errors
 * props NS TOPIC COUNT THREADS SIZE LEVEL         COUNT sync sends with property a=i%10 and, when
 *                                                LEVEL &gt; 0, delayTimeLevel LEVEL; prints RESULT sent errors
 * </pre>
 */
public final class Bench {
    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY, Integer.toString(MQVersion.CURRENT_VERSION));
        switch (args[0]) {
            case "produce":
                produce(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]), Integer.parseInt(args[6]), false);
                break;
            case "consume":
                consume(args[1], args[2], args[3], Long.parseLong(args[4]), Integer.parseInt(args[5]),
                    args.length > 6 ? args[6] : null);
                break;
            case "tx":
                produce(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]), Integer.parseInt(args[6]), true);
                break;
            case "produceasync":
                produceAsync(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]), Integer.parseInt(args[6]));
                break;
            case "producebatch":
                produceBatch(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]), Integer.parseInt(args[6]), Integer.parseInt(args[7]));
                break;
            case "props":
                props(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]), Integer.parseInt(args[6]));
                break;
            default:
                throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    private static void produce(String ns, String topic, int threads, int size, int seconds, int warmup,
                                boolean transactional) throws Exception {
        DefaultMQProducer producer;
        if (transactional) {
            TransactionMQProducer tx = new TransactionMQProducer("bench_tx_producer");
            tx.setTransactionListener(new TransactionListener() {
                @Override
                public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }

                @Override
                public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
            });
            producer = tx;
        } else {
            producer = new DefaultMQProducer("bench_producer");
        }
        producer.setNamesrvAddr(ns);
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.start();
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'm');
        // TOPIC%N spreads the sends round robin over topics TOPIC-0 .. TOPIC-(N-1).
        final String[] topics = topicList(topic);
        final AtomicLong rr = new AtomicLong();
        // Route and topic creation happen before timing starts.
        for (String name : topics) {
            producer.send(new Message(name, "warm", body));
        }
        long start = System.nanoTime();
        long measureFrom = start + warmup * 1_000_000_000L;
        long end = measureFrom + seconds * 1_000_000_000L;
        Thread cpu = cpuWindow(measureFrom, end);
        AtomicLong errors = new AtomicLong();
        AtomicLong stored = new AtomicLong(topics.length);
        List<long[]> perThread = new ArrayList<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            long[] rts = new long[500_000];
            perThread.add(rts);
            final int slot = t;
            workers[t] = new Thread(() -> {
                int n = 0;
                long[] mine = perThread.get(slot);
                while (true) {
                    long before = System.nanoTime();
                    if (before >= end) {
                        break;
                    }
                    try {
                        Message msg = new Message(topics[(int) (rr.getAndIncrement() % topics.length)],
                            "TagA", body);
                        SendResult r = transactional ? producer.sendMessageInTransaction(msg, null)
                            : producer.send(msg);
                        long after = System.nanoTime();
                        if (r.getSendStatus() != SendStatus.SEND_OK) {
                            errors.incrementAndGet();
                        } else if (stored.incrementAndGet() < 0) {
                            break;
                        } else if (before >= measureFrom && n < mine.length - 1) {
                            mine[++n] = after - before;
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
                mine[0] = n;
            });
            workers[t].start();
        }
        for (Thread w : workers) {
            w.join();
        }
        cpu.join();
        producer.shutdown();
        int total = 0;
        for (long[] rts : perThread) {
            total += (int) rts[0];
        }
        long[] all = new long[total];
        int at = 0;
        double sum = 0;
        for (long[] rts : perThread) {
            for (int i = 1; i <= rts[0]; i++) {
                all[at++] = rts[i];
                sum += rts[i];
            }
        }
        Arrays.sort(all);
        double p99 = total == 0 ? 0 : all[Math.min(total - 1, (int) (total * 0.99))] / 1e6;
        double max = total == 0 ? 0 : all[total - 1] / 1e6;
        double avg = total == 0 ? 0 : sum / total / 1e6;
        System.out.printf("RESULT %d %.1f %.3f %.3f %.3f %d %d%n", total, total / (double) seconds, avg, p99, max,
            errors.get(), stored.get());
    }

    private static String[] topicList(String spec) {
        int at = spec.lastIndexOf('%');
        if (at < 0) {
            return new String[] {spec};
        }
        int n = Integer.parseInt(spec.substring(at + 1));
        String[] out = new String[n];
        for (int i = 0; i < n; i++) {
            out[i] = spec.substring(0, at) + "-" + i;
        }
        return out;
    }

    /** CPU time of this whole process (every thread, GC and JIT included), in ns. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
            .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }

    /** Prints "CPU seconds" for the measured window once it has begun and ended. */
    private static Thread cpuWindow(long from, long to) {
        Thread t = new Thread(() -> {
            try {
                sleepUntil(from);
                long a = cpuNanos();
                sleepUntil(to);
                System.out.printf("CPU %.3f%n", (cpuNanos() - a) / 1e9);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static DefaultMQProducer started(String ns, String group) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(ns);
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.start();
        return producer;
    }

    private static void produceAsync(String ns, String topic, int inflight, int size, int seconds, int warmup)
        throws Exception {
        DefaultMQProducer producer = started(ns, "bench_async_producer");
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'a');
        producer.send(new Message(topic, "warm", body));
        long start = System.nanoTime();
        long measureFrom = start + warmup * 1_000_000_000L;
        long end = measureFrom + seconds * 1_000_000_000L;
        Thread cpu = cpuWindow(measureFrom, end);
        java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(inflight);
        AtomicLong sent = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        while (System.nanoTime() < end) {
            window.acquire();
            final long began = System.nanoTime();
            producer.send(new Message(topic, "TagA", body), new org.apache.rocketmq.client.producer.SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    if (began >= measureFrom && System.nanoTime() < end) {
                        sent.incrementAndGet();
                    }
                    window.release();
                }

                @Override
                public void onException(Throwable e) {
                    errors.incrementAndGet();
                    window.release();
                }
            });
        }
        window.acquire(inflight);
        cpu.join();
        producer.shutdown();
        System.out.printf("RESULT %d %.1f %d%n", sent.get(), sent.get() / (double) seconds, errors.get());
    }

    private static void produceBatch(String ns, String topic, int threads, int size, int batch, int seconds,
                                     int warmup) throws Exception {
        DefaultMQProducer producer = started(ns, "bench_batch_producer");
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'b');
        producer.send(new Message(topic, "warm", body));
        long start = System.nanoTime();
        long measureFrom = start + warmup * 1_000_000_000L;
        long end = measureFrom + seconds * 1_000_000_000L;
        Thread cpu = cpuWindow(measureFrom, end);
        AtomicLong sent = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> {
                while (true) {
                    long before = System.nanoTime();
                    if (before >= end) {
                        break;
                    }
                    List<Message> msgs = new ArrayList<>();
                    for (int i = 0; i < batch; i++) {
                        msgs.add(new Message(topic, "TagA", body));
                    }
                    try {
                        SendResult r = producer.send(msgs);
                        if (r.getSendStatus() != SendStatus.SEND_OK) {
                            errors.incrementAndGet();
                        } else if (before >= measureFrom && System.nanoTime() < end) {
                            sent.addAndGet(batch);
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
            });
            workers[t].start();
        }
        for (Thread w : workers) {
            w.join();
        }
        cpu.join();
        producer.shutdown();
        System.out.printf("RESULT %d %.1f %d%n", sent.get(), sent.get() / (double) seconds, errors.get());
    }

    private static void props(String ns, String topic, int count, int threads, int size, int level)
        throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("bench_props_producer");
        producer.setNamesrvAddr(ns);
        producer.start();
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'p');
        AtomicLong next = new AtomicLong();
        AtomicLong sent = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> {
                for (long i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                    Message msg = new Message(topic, "TagA", body);
                    msg.putUserProperty("a", Long.toString(i % 10));
                    if (level > 0) {
                        msg.setDelayTimeLevel(level);
                    }
                    try {
                        if (producer.send(msg).getSendStatus() == SendStatus.SEND_OK) {
                            sent.incrementAndGet();
                        } else {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
            });
            workers[t].start();
        }
        for (Thread w : workers) {
            w.join();
        }
        producer.shutdown();
        System.out.printf("RESULT %d %d%n", sent.get(), errors.get());
    }

    private static void consume(String ns, String topic, String group, long expected, int seconds, String sql)
        throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeMessageBatchMaxSize(32);
        if (sql != null) {
            consumer.subscribe(topic, MessageSelector.bySql(sql));
        } else {
            consumer.subscribe(topic, "*");
        }
        AtomicLong received = new AtomicLong();
        AtomicLong first = new AtomicLong();
        AtomicLong last = new AtomicLong();
        AtomicLong cpuFirst = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            long now = System.nanoTime();
            if (first.compareAndSet(0, now)) {
                cpuFirst.set(cpuNanos());
            }
            last.set(now);
            if (received.addAndGet(msgs.size()) >= expected) {
                done.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        done.await(seconds, java.util.concurrent.TimeUnit.SECONDS);
        System.out.printf("CPU %.3f%n", (cpuNanos() - cpuFirst.get()) / 1e9);
        consumer.shutdown();
        double span = (last.get() - first.get()) / 1e9;
        System.out.printf("RESULT %d %.1f%n", received.get(), span > 0 ? received.get() / span : 0.0);
    }
}
