"""The quickstart pair: ``producer`` sends 1000 messages to TopicTest, ``consumer`` reads them."""
