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

import org.apache.rocketmq.broker.out.BrokerOuterAPI;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
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
