package nl.kt2ops.fhir;

/** Marks the interceptors that carry Koppeltaal's rules; the server registers every bean that has it. */
public interface KoppeltaalInterceptor {}
