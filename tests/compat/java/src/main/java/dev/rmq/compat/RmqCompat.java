package dev.rmq.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.broker.out.BrokerOuterAPI;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.namesrv.RegisterBrokerResult;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.body.TopicConfigSerializeWrapper;
import org.apache.rocketmq.common.protocol.header.SendMessageRequestHeaderV2;
import org.apache.rocketmq.common.protocol.header.namesrv.GetRouteInfoRequestHeader;
import org.apache.rocketmq.common.protocol.header.namesrv.PutKVConfigRequestHeader;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.SerializeType;

/**
 * Drives rmq with the official Apache RocketMQ 4.9.x libraries, for tests/compat.
 *
 * <pre>
 * fixtures DIR                       write frames encoded by the official RemotingCommand
 * register NS CLUSTER NAME ADDR ID COMPRESSED TOPIC...
 *                                    register like a broker (BrokerOuterAPI), print the
 *                                    results, hold the connection until stdin closes
 * route NS TOPIC                     look a route up with the official client
 * produce NS TOPIC COUNT              send COUNT messages (tags TagA/TagB, keys fixture-key-N),
 *                                    printing one SENT line per SendResult
 * send NS TOPIC MODE COUNT           send COUNT messages with MODE sync|async|oneway|batch|
 *                                    ordered (ordered: queue chosen by idx % 4)
 *                                    (tags TagA/TagB, keys MODE-key-N, property idx=N)
 * push NS TOPIC GROUP MODEL EXPR COUNT SECONDS [PAUSE_MS]
 *                                    DefaultMQPushConsumer (CLUSTERING|BROADCASTING, or
 *                                    ORDERLY: clustering with MessageListenerOrderly; a tag
 *                                    expression, or SQL:expression for MessageSelector.bySql)
 *                                    from the first offset; one RECV line per message until
 *                                    COUNT arrived or SECONDS passed, pausing PAUSE_MS each
 * pushretry NS TOPIC GROUP COUNT SECONDS  push consumer answering RECONSUME_LATER to every
 *                                    first delivery; RECV lines until COUNT second deliveries
 * orderlyfail NS TOPIC GROUP MAX COUNT SECONDS
 *                                    MessageListenerOrderly with maxReconsumeTimes MAX that
 *                                    suspends idx 0 every time; RECV lines until the other
 *                                    COUNT-1 messages arrived and idx 0 was tried MAX+1 times
 * allocate QUEUES CLIENT...          for every client, the queue ids Java's averagely, by-circle
 *                                    and consistent-hash strategies give it (topic T, broker b)
 * tx NS TOPIC COUNT SECONDS          TransactionMQProducer: message i commits when i%3==0,
 *                                    rolls back when 1, answers UNKNOW when 2 and COMMIT to
 *                                    the broker's check-back; waits for the checks
 * litepull NS TOPIC GROUP COUNT SECONDS   DefaultLitePullConsumer, RECV lines likewise
 * pull NS TOPIC GROUP COUNT          DefaultMQPullConsumer from offset 0 of every queue
 * </pre>
 */
public final class RmqCompat {
    private RmqCompat() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY, Integer.toString(MQVersion.CURRENT_VERSION));
        switch (args[0]) {
            case "fixtures":
                fixtures(Path.of(args[1]));
                break;
            case "register":
                register(args);
                break;
            case "route":
                route(args[1], args[2]);
                break;
            case "produce":
                produce(args[1], args[2], Integer.parseInt(args[3]));
                break;
            case "send":
                send(args[1], args[2], args[3], Integer.parseInt(args[4]));
                break;
            case "push":
                push(args[1], args[2], args[3], args[4], args[5], Integer.parseInt(args[6]),
                    Integer.parseInt(args[7]), args.length > 8 ? Integer.parseInt(args[8]) : 0);
                break;
            case "pushretry":
                pushRetry(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
                break;
            case "allocate":
                allocate(args);
                break;
            case "orderlyfail":
                orderlyFail(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                    Integer.parseInt(args[6]));
                break;
            case "tx":
                transactions(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
                break;
            case "litepull":
                litePull(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
                break;
            case "pull":
                pull(args[1], args[2], args[3], Integer.parseInt(args[4]));
                break;
            case "mqadminbatch":
                mqadminBatch();
                break;
            case "steady":
                steady(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
                break;
            default:
                throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    private static void write(Path dir, String name, RemotingCommand cmd) throws Exception {
        for (SerializeType type : SerializeType.values()) {
            cmd.setSerializeTypeCurrentRPC(type);
            ByteBuffer buf = cmd.encode();
            byte[] bytes = new byte[buf.remaining()];
            buf.get(bytes);
            Files.write(dir.resolve(name + "." + type.name().toLowerCase() + ".bin"), bytes);
        }
    }

    private static void fixtures(Path dir) throws Exception {
        Files.createDirectories(dir);
        GetRouteInfoRequestHeader route = new GetRouteInfoRequestHeader();
        route.setTopic("TopicTest");
        RemotingCommand routeReq = RemotingCommand.createRequestCommand(RequestCode.GET_ROUTEINFO_BY_TOPIC, route);
        routeReq.setOpaque(42);
        write(dir, "get_route_request", routeReq);

        RemotingCommand miss = RemotingCommand.createResponseCommand(17, "No topic route info in name server for the topic: TopicTest");
        miss.setOpaque(42);
        write(dir, "topic_not_exist_response", miss);

        SendMessageRequestHeaderV2 send = new SendMessageRequestHeaderV2();
        send.setA("ProducerGroup");
        send.setB("TopicTest");
        send.setC("TBW102");
        send.setD(4);
        send.setE(3);
        send.setF(0);
        send.setG(1700000000000L);
        send.setH(0);
        send.setI("TAGS\u0001TagA\u0002KEYS\u0001key-1\u0002UNIQ_KEY\u0001ABCDEF\u0002");
        send.setJ(0);
        send.setK(false);
        send.setL(16);
        send.setM(false);
        send.setBname("broker-a");
        RemotingCommand sendReq = RemotingCommand.createRequestCommand(RequestCode.SEND_MESSAGE_V2, send);
        sendReq.setOpaque(7);
        sendReq.setBody("Hello RocketMQ".getBytes(StandardCharsets.UTF_8));
        write(dir, "send_v2_request", sendReq);

        PutKVConfigRequestHeader kv = new PutKVConfigRequestHeader();
        kv.setNamespace("ns");
        kv.setKey("k");
        kv.setValue("\u4e2d\u6587 value");
        RemotingCommand kvReq = RemotingCommand.createRequestCommand(RequestCode.PUT_KV_CONFIG, kv);
        kvReq.setOpaque(9);
        kvReq.markOnewayRPC();
        write(dir, "put_kv_oneway_request", kvReq);
    }

    private static void register(String[] args) throws Exception {
        String ns = args[1];
        String cluster = args[2];
        String name = args[3];
        String addr = args[4];
        long id = Long.parseLong(args[5]);
        boolean compressed = Boolean.parseBoolean(args[6]);
        TopicConfigSerializeWrapper wrapper = new TopicConfigSerializeWrapper();
        ConcurrentMap<String, TopicConfig> table = new ConcurrentHashMap<>();
        for (int i = 7; i < args.length; i++) {
            table.put(args[i], new TopicConfig(args[i], 4, 4, 6));
        }
        wrapper.setTopicConfigTable(table);
        wrapper.getDataVersion().nextVersion();
        BrokerOuterAPI api = new BrokerOuterAPI(new NettyClientConfig());
        api.updateNameServerAddressList(ns);
        api.start();
        String ha = addr.substring(0, addr.lastIndexOf(':') + 1) + (Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1)) + 1);
        List<RegisterBrokerResult> results = api.registerBrokerAll(cluster, addr, name, id, ha, wrapper,
            new ArrayList<>(), false, 3000, compressed);
        for (RegisterBrokerResult r : results) {
            System.out.println("REGISTERED masterAddr=" + r.getMasterAddr() + " haServerAddr=" + r.getHaServerAddr());
        }
        System.out.println("RESULTS " + results.size());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (in.readLine() != null) {
            // hold the channel open: the NameServer drops a broker whose channel closes
        }
        api.shutdown();
    }

    private static void produce(String ns, String topic, int count) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("compat_fixture_group");
        producer.setNamesrvAddr(ns);
        producer.start();
        try {
            for (int i = 0; i < count; i++) {
                String body = "fixture body " + i + " " + "x".repeat(i % 7 * 40);
                Message msg = new Message(topic, i % 2 == 0 ? "TagA" : "TagB", "fixture-key-" + i,
                    body.getBytes(StandardCharsets.UTF_8));
                msg.putUserProperty("fixtureIndex", Integer.toString(i));
                SendResult r = producer.send(msg, new MessageQueueSelector() {
                    @Override
                    public MessageQueue select(List<MessageQueue> mqs, Message m, Object arg) {
                        return mqs.get((Integer) arg % mqs.size());
                    }
                }, i);
                System.out.println("SENT " + i + " " + r.getSendStatus() + " " + r.getMessageQueue().getQueueId()
                    + " " + r.getQueueOffset() + " " + r.getMsgId() + " " + r.getOffsetMsgId());
            }
        } finally {
            producer.shutdown();
        }
    }

    private static Message message(String topic, String mode, int i) {
        String body = mode + " body " + i + " " + "y".repeat(i % 5 * 30);
        Message msg = new Message(topic, i % 2 == 0 ? "TagA" : "TagB", mode + "-key-" + i,
            body.getBytes(StandardCharsets.UTF_8));
        msg.putUserProperty("idx", Integer.toString(i));
        return msg;
    }

    private static void send(String ns, String topic, String mode, int count) throws Exception {
        // "traced": sync sends with message trace on (the trace lands in RMQ_SYS_TRACE_TOPIC).
        boolean traced = mode.equals("traced");
        DefaultMQProducer producer = new DefaultMQProducer("compat_send_" + mode, traced);
        producer.setNamesrvAddr(ns);
        producer.start();
        if (traced) {
            mode = "sync";
        }
        try {
            if (mode.equals("batch")) {
                List<Message> batch = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    batch.add(message(topic, mode, i));
                }
                SendResult r = producer.send(batch);
                System.out.println("SENT batch " + r.getSendStatus() + " " + r.getMessageQueue().getQueueId()
                    + " " + r.getQueueOffset() + " " + r.getMsgId());
                return;
            }
            CountDownLatch done = new CountDownLatch(count);
            for (int i = 0; i < count; i++) {
                Message msg = message(topic, mode, i);
                final int index = i;
                if (mode.equals("ordered")) {
                    SendResult r = producer.send(msg, new MessageQueueSelector() {
                        @Override
                        public MessageQueue select(List<MessageQueue> mqs, Message m, Object arg) {
                            return mqs.get((Integer) arg % mqs.size());
                        }
                    }, i % 4);
                    System.out.println("SENT " + i + " " + r.getSendStatus() + " "
                        + r.getMessageQueue().getQueueId());
                    done.countDown();
                } else if (mode.equals("sync")) {
                    SendResult r = producer.send(msg);
                    System.out.println("SENT " + i + " " + r.getSendStatus() + " " + r.getMsgId() + " "
                        + r.getOffsetMsgId());
                    done.countDown();
                } else if (mode.equals("async")) {
                    producer.send(msg, new SendCallback() {
                        @Override
                        public void onSuccess(SendResult r) {
                            System.out.println("SENT " + index + " " + r.getSendStatus() + " " + r.getMsgId());
                            done.countDown();
                        }

                        @Override
                        public void onException(Throwable e) {
                            System.out.println("FAILED " + index + " " + e);
                            done.countDown();
                        }
                    });
                } else {
                    producer.sendOneway(msg);
                    System.out.println("SENT " + i + " ONEWAY");
                    done.countDown();
                }
            }
            done.await(60, TimeUnit.SECONDS);
            if (traced) {
                // The trace goes out from a background dispatcher that shutdown() waits for
                // only briefly; a loaded machine needs longer to route the trace topic.
                Thread.sleep(3000);
            }
        } finally {
            producer.shutdown();
        }
    }

    /**
     * Sync sends one at a time (through failovers: routes are refreshed every second), each
     * outcome printed as "SENT i OK" or "FAILED i reason", until count or seconds run out.
     */
    private static void steady(String ns, String topic, int count, int seconds) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("compat_steady");
        producer.setNamesrvAddr(ns);
        producer.setPollNameServerInterval(1000);
        producer.setSendMsgTimeout(3000);
        producer.start();
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        try {
            for (int i = 0; i < count && System.currentTimeMillis() < deadline; i++) {
                Message msg = new Message(topic, "TagA", "steady-" + i,
                    ("steady-" + i).getBytes(StandardCharsets.UTF_8));
                try {
                    SendResult r = producer.send(msg);
                    System.out.println((r.getSendStatus() == SendStatus.SEND_OK ? "SENT " : "FAILED ")
                        + i + " " + r.getSendStatus());
                } catch (Exception e) {
                    System.out.println("FAILED " + i + " " + e.getClass().getSimpleName());
                    Thread.sleep(100);
                }
                System.out.flush();
            }
        } finally {
            producer.shutdown();
        }
        System.out.println("DONE");
    }

    /**
     * Runs one mqadmin command per stdin line (arguments separated by tabs) in this one JVM,
     * each output between "@@BEGIN" and "@@END" lines: golden tests compare dozens of mqadmin
     * outputs, and a JVM start per command would cost seconds each.
     */
    private static void mqadminBatch() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            System.out.println("@@BEGIN");
            System.out.flush();
            org.apache.rocketmq.tools.command.MQAdminStartup.main0(line.split("\t"), null);
            System.out.println();
            System.out.println("@@END");
            System.out.flush();
        }
    }

    private static synchronized void printReceived(MessageExt m) {
        System.out.println("RECV " + m.getTopic() + " " + m.getQueueId() + " " + m.getQueueOffset() + " "
            + m.getTags() + " " + m.getKeys() + " " + m.getUserProperty("idx") + " "
            + m.getReconsumeTimes() + " " + new String(m.getBody(), StandardCharsets.UTF_8).replace(' ', '_'));
        System.out.flush();
    }

    private static void push(String ns, String topic, String group, String model, String expr, int count,
                             int seconds, int pauseMs) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(ns);
        boolean orderly = model.equals("ORDERLY");
        consumer.setMessageModel(orderly ? MessageModel.CLUSTERING : MessageModel.valueOf(model));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setInstanceName(group + "-" + ProcessHandle.current().pid());
        if (expr.startsWith("SQL:")) {
            consumer.subscribe(topic, MessageSelector.bySql(expr.substring(4)));
        } else {
            consumer.subscribe(topic, expr);
        }
        CountDownLatch done = new CountDownLatch(count);
        if (orderly) {
            consumer.registerMessageListener((MessageListenerOrderly) (msgs, context) -> {
                for (MessageExt m : msgs) {
                    printReceived(m);
                    pause(pauseMs);
                    done.countDown();
                }
                return ConsumeOrderlyStatus.SUCCESS;
            });
        } else {
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
                for (MessageExt m : msgs) {
                    printReceived(m);
                    pause(pauseMs);
                    done.countDown();
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
        }
        consumer.start();
        System.out.println("STARTED");
        System.out.flush();
        boolean all = done.await(seconds, TimeUnit.SECONDS);
        // Let the final offsets reach the broker before shutdown persists them.
        Thread.sleep(200);
        consumer.shutdown();
        System.out.println(all ? "DONE" : "TIMEOUT");
    }

    private static void pause(int ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void allocate(String[] args) {
        int queues = Integer.parseInt(args[1]);
        List<String> clients = new ArrayList<>(List.of(args).subList(2, args.length));
        List<MessageQueue> mqs = new ArrayList<>();
        for (int i = 0; i < queues; i++) {
            mqs.add(new MessageQueue("T", "b", i));
        }
        org.apache.rocketmq.client.consumer.AllocateMessageQueueStrategy[] strategies = {
            new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely(),
            new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragelyByCircle(),
            new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueConsistentHash(),
        };
        for (org.apache.rocketmq.client.consumer.AllocateMessageQueueStrategy s : strategies) {
            for (String c : clients) {
                StringBuilder line = new StringBuilder("ALLOC " + s.getName() + " " + c);
                for (MessageQueue mq : s.allocate("g", c, mqs, clients)) {
                    line.append(" ").append(mq.getQueueId());
                }
                System.out.println(line);
            }
        }
    }

    private static void orderlyFail(String ns, String topic, String group, int max, int count, int seconds)
        throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setInstanceName(group + "-" + ProcessHandle.current().pid());
        consumer.setMaxReconsumeTimes(max);
        consumer.subscribe(topic, "*");
        CountDownLatch others = new CountDownLatch(count - 1);
        CountDownLatch tries = new CountDownLatch(max + 1);
        consumer.registerMessageListener((MessageListenerOrderly) (msgs, context) -> {
            context.setSuspendCurrentQueueTimeMillis(100);
            for (MessageExt m : msgs) {
                printReceived(m);
                if ("0".equals(m.getUserProperty("idx"))) {
                    tries.countDown();
                    return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
                }
                others.countDown();
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        consumer.start();
        boolean all = others.await(seconds, TimeUnit.SECONDS) && tries.await(seconds, TimeUnit.SECONDS);
        Thread.sleep(500);
        consumer.shutdown();
        System.out.println(all ? "DONE" : "TIMEOUT");
    }

    private static void pushRetry(String ns, String topic, String group, int count, int seconds)
        throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setInstanceName(group + "-" + ProcessHandle.current().pid());
        consumer.subscribe(topic, "*");
        CountDownLatch done = new CountDownLatch(count);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                printReceived(m);
                if (m.getReconsumeTimes() == 0) {
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
                done.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        boolean all = done.await(seconds, TimeUnit.SECONDS);
        Thread.sleep(200);
        consumer.shutdown();
        System.out.println(all ? "DONE" : "TIMEOUT");
    }

    private static void transactions(String ns, String topic, int count, int seconds) throws Exception {
        TransactionMQProducer producer = new TransactionMQProducer("compat_tx_group");
        producer.setNamesrvAddr(ns);
        int unknown = 0;
        for (int i = 0; i < count; i++) {
            if (i % 3 == 2) {
                unknown++;
            }
        }
        CountDownLatch checked = new CountDownLatch(unknown);
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                int i = Integer.parseInt(msg.getUserProperty("idx"));
                return i % 3 == 0 ? LocalTransactionState.COMMIT_MESSAGE
                    : i % 3 == 1 ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                System.out.println("CHECKED " + msg.getUserProperty("idx") + " " + msg.getTopic());
                System.out.flush();
                checked.countDown();
                return LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        producer.start();
        try {
            for (int i = 0; i < count; i++) {
                SendResult r = producer.sendMessageInTransaction(message(topic, "tx", i), null);
                System.out.println("SENT " + i + " " + r.getSendStatus() + " "
                    + ((TransactionSendResult) r).getLocalTransactionState());
            }
            // Brokers learn of a producer group only from heartbeats, sent every 30 s to the
            // brokers of known routes; send one now that the route is known.
            producer.getDefaultMQProducerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
            System.out.println(checked.await(seconds, TimeUnit.SECONDS) ? "DONE" : "TIMEOUT");
        } finally {
            producer.shutdown();
        }
    }

    private static void litePull(String ns, String topic, String group, int count, int seconds) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.start();
        int received = 0;
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        try {
            while (received < count && System.currentTimeMillis() < deadline) {
                for (MessageExt m : consumer.poll(1000)) {
                    printReceived(m);
                    received++;
                }
            }
        } finally {
            consumer.shutdown();
        }
        System.out.println(received >= count ? "DONE" : "TIMEOUT");
    }

    private static void pull(String ns, String topic, String group, int count) throws Exception {
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.start();
        int received = 0;
        try {
            for (MessageQueue mq : consumer.fetchSubscribeMessageQueues(topic)) {
                long offset = 0;
                while (true) {
                    PullResult r = consumer.pull(mq, "*", offset, 32);
                    if (r.getPullStatus() != PullStatus.FOUND) {
                        System.out.println("QUEUE " + mq.getQueueId() + " " + r.getPullStatus() + " next="
                            + r.getNextBeginOffset() + " max=" + r.getMaxOffset());
                        break;
                    }
                    for (MessageExt m : r.getMsgFoundList()) {
                        printReceived(m);
                        received++;
                    }
                    offset = r.getNextBeginOffset();
                }
                consumer.updateConsumeOffset(mq, offset);
            }
        } finally {
            consumer.shutdown();
        }
        System.out.println(received >= count ? "DONE" : "SHORT " + received);
    }

    private static void route(String ns, String topic) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("compat_route_group");
        producer.setNamesrvAddr(ns);
        producer.start();
        try {
            TopicRouteData data = producer.getDefaultMQProducerImpl().getmQClientFactory().getMQClientAPIImpl()
                .getTopicRouteInfoFromNameServer(topic, 3000);
            System.out.println("ROUTE " + data.toJson());
            List<MessageQueue> queues = producer.fetchPublishMessageQueues(topic);
            System.out.println("QUEUES " + queues.size());
            for (MessageQueue q : queues) {
                System.out.println("QUEUE " + q.getBrokerName() + " " + q.getQueueId());
            }
        } finally {
            producer.shutdown();
        }
    }
}
