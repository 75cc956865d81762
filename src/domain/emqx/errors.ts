/** Error types the EMQX activities raise that the EMQX strategy tells apart. */

/** This EMQX has no node evacuation API (404, or an edition without it): the strategy drains by removing pods instead. */
export const EVACUATION_UNAVAILABLE = 'EvacuationUnavailable';
