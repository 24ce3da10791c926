"""The NameServer: brokers register here, clients look up routes here.

``route_table`` holds clusters, brokers, topics and liveness; ``kv_config`` the persisted
KV namespaces; ``processor`` answers the request codes; ``app`` runs the process.
"""
