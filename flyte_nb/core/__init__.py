"""The pure core: type engine, interfaces, tasks, resolvers, compilation and in-process execution.

Imports only the standard library, protobuf/flyteidl, cloudpickle, msgpack and mashumaro.
"""
