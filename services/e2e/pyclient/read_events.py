"""Read ssokit's events from Kafka with nothing but what the Schema Registry holds.

An independent client: it ships no code generated from ssokit's .proto files.
For each message it takes the schema id and message index from the Confluent
framing (magic byte 0, 4-byte big-endian schema id, zigzag varint array of
message indexes), fetches that schema's .proto text and its references from
the registry's Confluent-compatible API, compiles them at run time with the
protoc bundled in grpcio-tools, and decodes the value with message classes
built from the resulting descriptors. Each event is printed as one JSON line.

Why not confluent-kafka's ProtobufDeserializer with a SchemaRegistryClient:
it asks for GET /schemas/ids/{id}?format=serialized and base64-decodes the
answer, while Apicurio Registry 3.3.3 puts the raw FileDescriptorProto bytes
into the JSON string (bytes that are not UTF-8 come back as U+FFFD, so the
answer cannot even be repaired). The .proto text (no format parameter) is
served correctly, and that is all this client asks for.

Personal data (e-mail address, name) travels sealed under the user's own
data key (events.v1.SealedPersonal: AES-256-GCM, the additional
authenticated data naming purpose, user and event). Given the user's data
key with --data-key USER_ID=BASE64 (sso's UserDataKeyService hands it out
sealed under the key ring shared with the mail sender; whoever holds the ring
opens it), the reader opens it and prints it under "personal". Without the
key, or once the user is erased (sso destroyed the key), it prints
{"sealed": true, "error": ...}: the data cannot be read.

A message whose writer knew a kind this schema lacks (the oneof "kind" of
events.v1.AccountEvent) still decodes: the unknown field is kept aside and
reported, the kind is null, and the reader goes on.

Usage:
  python read_events.py --brokers 127.0.0.1:9092 \\
      --registry http://127.0.0.1:8081/apis/ccompat/v7 \\
      --group my-reader --topic user-registered --topic account-events \\
      [--data-key USER_ID=BASE64_KEY ...] [--count N] [--timeout SECONDS]
"""

import argparse
import base64
import importlib.resources
import json
import os
import sys
import tempfile
import time

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient, dual_schema_id_deserializer
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, unknown_fields
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from grpc_tools import protoc

# The well-known types (google/protobuf/timestamp.proto, ...) ship with
# grpcio-tools; producers may leave them out of a schema's references.
_WELL_KNOWN = str(importlib.resources.files("grpc_tools") / "_proto")


class RegistrySchemas:
    """Message types per (schema id, message indexes), compiled on first use."""

    def __init__(self, client):
        self._client = client
        self._files = {}  # schema id -> (pool, FileDescriptorProto)

    def message_class(self, schema_id, indexes):
        pool, file_proto = self._compiled(schema_id)
        return message_factory.GetMessageClass(_message_descriptor(pool, file_proto, indexes))

    def _compiled(self, schema_id):
        if schema_id not in self._files:
            self._files[schema_id] = self._compile(schema_id)
        return self._files[schema_id]

    def _compile(self, schema_id):
        # The text form: no format parameter (see the module documentation).
        schema = self._client.get_schema(schema_id)
        if schema.schema_type != "PROTOBUF":
            raise ValueError(f"schema {schema_id} is {schema.schema_type}, not PROTOBUF")
        with tempfile.TemporaryDirectory(prefix="registry-schema-") as root:
            # The registry does not know the producer's file name; any name
            # that no reference uses will do.
            main = f"registry/schema-{schema_id}.proto"
            _write(root, main, schema.schema_str)
            self._write_references(root, schema.references or [], set())
            out = os.path.join(root, "descriptors.pb")
            args = ["protoc", f"-I{root}", f"-I{_WELL_KNOWN}", "--include_imports", f"--descriptor_set_out={out}", main]
            if protoc.main(args) != 0:
                raise ValueError(f"protoc cannot compile schema {schema_id} from the registry")
            with open(out, "rb") as f:
                files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
        # A pool per schema id: two versions of one schema define the same
        # full names and cannot share a pool.
        pool = descriptor_pool.DescriptorPool()
        for file_proto in files:  # protoc lists dependencies first
            pool.Add(file_proto)
        return pool, next(f for f in files if f.name == main)

    def _write_references(self, root, references, seen):
        for ref in references:
            if ref.name in seen or ref.name.startswith("google/protobuf/"):
                continue
            seen.add(ref.name)
            registered = self._client.get_version(ref.subject, ref.version)
            _write(root, ref.name, registered.schema.schema_str)
            self._write_references(root, registered.schema.references or [], seen)


def _write(root, name, text):
    path = os.path.normpath(os.path.join(root, name))
    if not path.startswith(root + os.sep):
        raise ValueError(f"reference name {name!r} leaves the schema folder")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _message_descriptor(pool, file_proto, indexes):
    """The message the framing's index path names: [i] is the file's i-th
    top-level message, [i, j] that message's j-th nested one, and so on."""
    indexes = indexes or [0]
    protos = file_proto.message_type
    name = file_proto.package
    for i in indexes:
        if i < 0 or i >= len(protos):
            raise ValueError(f"message index path {indexes} does not fit {file_proto.name}")
        name = f"{name}.{protos[i].name}" if name else protos[i].name
        protos = protos[i].nested_type
    return pool.FindMessageTypeByName(name)


def decode(schemas, topic, value, headers):
    """Decodes one framed value into (full type name, message, schema id)."""
    schema_id = SchemaId("PROTOBUF")
    ctx = SerializationContext(topic, MessageField.VALUE, headers)
    payload = dual_schema_id_deserializer(value, ctx, schema_id)
    if schema_id.id is None:
        raise ValueError("the value names its schema by GUID, which this client does not resolve")
    cls = schemas.message_class(schema_id.id, schema_id.message_indexes)
    return cls.FromString(payload.read()), schema_id.id


_SEALED_PERSONAL = "events.v1.SealedPersonal"
_PERSONAL_DATA = "events.v1.PersonalData"


def _sealed_personal(msg):
    """Every SealedPersonal set in msg, at any depth."""
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        for v in [value] if hasattr(value, "ListFields") else value:
            if field.message_type.full_name == _SEALED_PERSONAL:
                yield v
            elif hasattr(v, "ListFields"):
                yield from _sealed_personal(v)


def open_personal(msg, data_keys):
    """The personal data sealed in msg as a dict, None when it carries none.

    The additional authenticated data is sso's (libs/sealbox AAD): a fixed
    prefix, the purpose "personal-data", the user id and the event id, each
    separated by a NUL byte."""
    sealed = list(_sealed_personal(msg))
    if not sealed:
        return None
    user_id, event_id = getattr(msg, "user_id", ""), getattr(msg, "event_id", "")
    key = data_keys.get(user_id)
    if key is None:
        return {"sealed": True, "error": "no data key for this user"}
    aad = b"\x00".join([b"ssokit-sealed-v1", b"personal-data", user_id.encode(), event_id.encode()])
    try:
        plain = AESGCM(key).decrypt(sealed[0].nonce, sealed[0].ciphertext, aad)
    except InvalidTag:
        return {"sealed": True, "error": "does not open with this key (another key, user or event)"}
    cls = message_factory.GetMessageClass(msg.DESCRIPTOR.file.pool.FindMessageTypeByName(_PERSONAL_DATA))
    return json_format.MessageToDict(cls.FromString(plain), preserving_proto_field_name=True)


def as_json_line(msg, record, schema_id, data_keys):
    desc = msg.DESCRIPTOR
    return json.dumps(
        {
            "topic": record.topic(),
            "partition": record.partition(),
            "offset": record.offset(),
            "key": record.key().decode("utf-8", "replace") if record.key() is not None else None,
            "schema_id": schema_id,
            "type": desc.full_name,
            # Which member of each oneof is set; None when it is unset or
            # set by a writer whose kind this schema does not know.
            "oneofs": {o.name: msg.WhichOneof(o.name) for o in desc.oneofs},
            "unknown_fields": sorted({f.field_number for f in unknown_fields.UnknownFieldSet(msg)}),
            # Protobuf's JSON mapping: field names as in the schema, bytes as
            # standard base64, timestamps as RFC 3339, enums by name.
            "event": json_format.MessageToDict(msg, preserving_proto_field_name=True),
            "personal": open_personal(msg, data_keys),
        },
        sort_keys=True,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry", required=True, help="base URL of the Confluent-compatible API")
    p.add_argument("--group", required=True)
    p.add_argument("--topic", action="append", required=True)
    p.add_argument(
        "--data-key",
        action="append",
        default=[],
        metavar="USER_ID=BASE64",
        help="a user's 32-byte data key, to open the personal data of its events",
    )
    p.add_argument("--count", type=int, default=0, help="stop after this many events (0: run until --timeout)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds; with --count, not reaching it is an error")
    args = p.parse_args()
    data_keys = {}
    for item in args.data_key:
        user_id, _, encoded = item.partition("=")
        key = base64.b64decode(encoded, validate=True)
        if not user_id or len(key) != 32:
            p.error("--data-key wants USER_ID=<base64 of a 32-byte key>")
        data_keys[user_id] = key

    schemas = RegistrySchemas(SchemaRegistryClient({"url": args.registry}))
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(args.topic)
    seen, deadline = 0, time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline and (args.count == 0 or seen < args.count):
            record = consumer.poll(0.5)
            if record is None:
                continue
            if record.error():
                # Topics that do not exist yet are normal at start.
                if record.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    continue
                raise KafkaException(record.error())
            msg, schema_id = decode(schemas, record.topic(), record.value(), record.headers())
            print(as_json_line(msg, record, schema_id, data_keys), flush=True)
            seen += 1
            # Past the event, not before it: a consumer that acts on events
            # would commit only after acting.
            consumer.commit(message=record, asynchronous=False)
    finally:
        consumer.close()
    if args.count and seen < args.count:
        print(f"read_events: {seen} of {args.count} events before the timeout", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
